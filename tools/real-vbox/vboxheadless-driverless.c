/*
 * VBoxHeadless for hosts without VirtualBox's kernel driver (driverless
 * mode): tools/real-vbox/provision.sh builds this with the host's C
 * compiler and puts it in place of the chroot's
 * /usr/lib/virtualbox/VBoxHeadless (Debian's file is kept aside with
 * dpkg-divert).
 *
 * Why: Debian's VBoxHeadless is the hardened setuid stub, which opens
 * /dev/vboxdrv before it loads the real front-end and gives up without it.
 * VBoxSVC always starts exactly /usr/lib/virtualbox/VBoxHeadless for
 * "startvm --type headless", so with this file there the driver's own
 * startvm starts real VMs. With the global extradata
 * VBoxInternal/HM/FallbackToIEM=1 (also set by provision.sh) they run in
 * VirtualBox's instruction interpreter: slow, but enough for tiny guests.
 *
 * What it does is what the stub does after its checks: initialise the
 * runtime (VBoxRT.so's RTR3InitEx) with the support library asked for in
 * driverless mode with the interpreter allowed, then call the front-end's
 * TrustedMain.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

#define VBOX_DIR "/usr/lib/virtualbox"
#define RTR3INIT_VER_2 2
#define RTR3INIT_FLAGS_SUPLIB (1u << 16)
#define RTR3INIT_FLAGS_SUPLIB_SHIFT 18
#define SUPR3INIT_F_DRIVERLESS (1u << 2)
#define SUPR3INIT_F_DRIVERLESS_IEM_ALLOWED (1u << 3)

typedef int (*rtr3initex_t)(uint32_t, uint32_t, int, char ***, const char *);
typedef int (*trusted_main_t)(int, char **, char **);

static void *symbol(const char *library, const char *name)
{
    void *handle = dlopen(library, RTLD_NOW | RTLD_GLOBAL);
    void *sym = handle ? dlsym(handle, name) : NULL;
    if (!sym)
        fprintf(stderr, "VBoxHeadless (driverless): %s\n", dlerror());
    return sym;
}

int main(int argc, char **argv, char **envp)
{
    rtr3initex_t init = (rtr3initex_t)symbol(VBOX_DIR "/VBoxRT.so",
                                             "RTR3InitEx");
    if (!init)
        return 1;
    uint32_t suplib = SUPR3INIT_F_DRIVERLESS |
                      SUPR3INIT_F_DRIVERLESS_IEM_ALLOWED;
    int rc = init(RTR3INIT_VER_2,
                  RTR3INIT_FLAGS_SUPLIB | (suplib << RTR3INIT_FLAGS_SUPLIB_SHIFT),
                  0, NULL, VBOX_DIR "/VBoxHeadless");
    if (rc < 0) {
        fprintf(stderr, "VBoxHeadless (driverless): RTR3InitEx: %d\n", rc);
        return 1;
    }
    trusted_main_t trusted_main = (trusted_main_t)symbol(
        VBOX_DIR "/VBoxHeadless.so", "TrustedMain");
    if (!trusted_main)
        return 1;
    return trusted_main(argc, argv, envp);
}
