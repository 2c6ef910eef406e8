/*
 * The tiny test guest: a BIOS boot sector (x86 real mode, GNU as syntax)
 * that makes the driver's work observable from outside the VM.
 *
 * - Prints "nova-virtualbox tinyguest uuid=<UUID>" to COM1 and to the
 *   screen, UUID being the SMBIOS system UUID, which VirtualBox sets to the
 *   VM's UUID (the driver's createvm --uuid: the instance UUID). A console
 *   log showing it proves the right VM booted.
 * - Waits (hlt, woken by the BIOS timer) for the ACPI power button:
 *   VirtualBox's ACPI device sets PWRBTN_STS in PM1a status (I/O 0x4000)
 *   whatever the guest's ACPI mode. The guest then powers itself off,
 *   S5 (SLP_TYP 5 of VirtualBox's DSDT) | SLP_EN into PM1a control (I/O
 *   0x4004); built with IGNORE_ACPI=1 it only says so and keeps running.
 * - Carries one MBR partition, so image format inspectors (Glance's, the
 *   driver's) take the raw disk for what it is.
 *
 * Built by build.py (the C compiler's assembler and ld); no download.
 */
        .code16
        .text
        .globl _start
#define COM1 0x3f8
#define PM1_STS 0x4000
#define PM1_CNT 0x4004
#define PWRBTN_STS 0x0100
#define S5_SLP_EN 0x3400
_start:
        cli
        xor %ax, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $0x7c00, %sp
        ljmp $0, $start2
start2:
        sti
        /* COM1: 115200 8N1, FIFO on */
        mov $COM1+1, %dx ; mov $0x00, %al ; out %al, %dx
        mov $COM1+3, %dx ; mov $0x80, %al ; out %al, %dx
        mov $COM1+0, %dx ; mov $0x01, %al ; out %al, %dx
        mov $COM1+1, %dx ; mov $0x00, %al ; out %al, %dx
        mov $COM1+3, %dx ; mov $0x03, %al ; out %al, %dx
        mov $COM1+2, %dx ; mov $0xc7, %al ; out %al, %dx
        mov $COM1+4, %dx ; mov $0x03, %al ; out %al, %dx
        mov $msg_boot, %si
        call puts
        call print_uuid
        mov $msg_nl, %si
        call puts
wait_button:
        hlt
        mov $PM1_STS, %dx
        in %dx, %ax
        test $PWRBTN_STS, %ax
        jz wait_button
        mov $PWRBTN_STS, %ax       /* write 1 to clear */
        out %ax, %dx
        cmpb $0, ignore_acpi
        jne ignored
        mov $msg_off, %si
        call puts
        mov $PM1_CNT, %dx
        mov $S5_SLP_EN, %ax
        out %ax, %dx
        cli
1:      hlt
        jmp 1b
ignored:
        mov $msg_ignored, %si
        call puts
        jmp wait_button

/* puts: %si -> NUL-terminated string, to COM1 */
puts:
        lodsb
        test %al, %al
        jz 2f
        call putc
        jmp puts
2:      ret

/* putc: %al to COM1 (waits for THR empty) */
putc:
        push %dx
        push %ax
        mov $COM1+5, %dx
3:      in %dx, %al
        test $0x20, %al
        jz 3b
        pop %ax
        mov $COM1, %dx
        out %al, %dx
        mov $0x0e, %ah                  /* and to the screen */
        xor %bx, %bx
        int $0x10
        pop %dx
        ret

/* print the SMBIOS type 1 system UUID (VirtualBox: the VM's UUID) */
print_uuid:
        mov $0xf000, %ax
        mov %ax, %es
        xor %di, %di
4:      cmpl $0x5f4d535f, %es:(%di)      /* "_SM_" */
        je 5f
        add $16, %di
        jnz 4b
        mov $msg_nouuid, %si
        jmp puts
5:      /* structure table: dword address at 0x18, word length at 0x16 */
        mov %es:0x18(%di), %eax
        mov %eax, %ebx
        shr $4, %eax
        mov %ax, %es
        and $0xf, %bx
        mov %bx, %di
6:      cmpb $1, %es:(%di)
        je 8f
        cmpb $127, %es:(%di)
        je 9f
        xor %ax, %ax
        mov %es:1(%di), %al
        add %ax, %di
7:      cmpw $0, %es:(%di)                /* skip strings to double NUL */
        je 71f
        inc %di
        jmp 7b
71:     add $2, %di
        jmp 6b
8:      add $8, %di
        mov $uuid_order, %si
81:     lodsb
        cmp $0xff, %al
        je 82f
        cmp $0xfe, %al
        je 83f
        xor %bx, %bx
        mov %al, %bl
        mov %es:(%bx,%di), %al
        call puthex
        jmp 81b
83:     mov $'-', %al
        call putc
        jmp 81b
82:     ret
9:      mov $msg_nouuid, %si
        jmp puts

puthex:
        push %ax
        shr $4, %al
        call nibble
        pop %ax
        and $0xf, %al
nibble:
        and $0xf, %al
        add $'0', %al
        cmp $'9', %al
        jbe 10f
        add $'a'-'9'-1, %al
10:     jmp putc

/* SMBIOS 2.6+: the first three UUID fields are little-endian */
uuid_order:
        .byte 3,2,1,0,0xfe,5,4,0xfe,7,6,0xfe,8,9,0xfe,10,11,12,13,14,15,0xff
msg_boot:   .asciz "nova-virtualbox tinyguest uuid="
msg_nl:     .asciz "\r\n"
msg_nouuid: .asciz "unknown"
msg_off:    .asciz "tinyguest: ACPI power off\r\n"
msg_ignored:.asciz "tinyguest: ACPI ignored\r\n"
ignore_acpi: .byte IGNORE_ACPI
        .org 0x1be
        /* one partition so that image inspectors see a valid MBR */
        .byte 0x00, 0, 2, 0, 0xda, 0, 0, 0
        .long 1, 2047
        .org 0x1fe
        .byte 0x55, 0xaa

        /* one partition so that image inspectors see a valid MBR */




