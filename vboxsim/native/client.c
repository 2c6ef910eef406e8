/*
 * Copyright 2026 The nova-virtualbox authors
 *
 *    Licensed under the Apache License, Version 2.0 (the "License"); you may
 *    not use this file except in compliance with the License. You may obtain
 *    a copy of the License at
 *
 *         http://www.apache.org/licenses/LICENSE-2.0
 *
 *    Unless required by applicable law or agreed to in writing, software
 *    distributed under the License is distributed on an "AS IS" BASIS,
 *    WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
 *    implied. See the License for the specific language governing
 *    permissions and limitations under the License.
 *
 * The native client of the resident simulator (vboxsim/service.py): sends
 * its arguments, environment and working directory to the service named
 * by $VBOXSIM_SERVICE_SOCKET (a Linux abstract socket), prints what the
 * call printed and exits with its status. Without a service that answers
 * (or for a call reading stdin), it runs the call itself: exec
 * $VBOXSIM_PYTHON -m vboxsim ARGS.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

struct buffer {
    char *data;
    size_t used, size;
};

static void put(struct buffer *b, const void *data, size_t len)
{
    if (b->used + len > b->size) {
        b->size = (b->used + len) * 2 + 4096;
        b->data = realloc(b->data, b->size);
        if (!b->data) {
            perror("vboxsim client");
            exit(1);
        }
    }
    memcpy(b->data + b->used, data, len);
    b->used += len;
}

static void put_u32(struct buffer *b, uint32_t value)
{
    unsigned char raw[4] = {value >> 24, value >> 16, value >> 8, value};
    put(b, raw, 4);
}

static void put_string(struct buffer *b, const char *text)
{
    size_t len = strlen(text);
    put_u32(b, (uint32_t)len);
    put(b, text, len);
}

static uint32_t get_u32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The call in a process of its own, as without the service. */
static int run_itself(int argc, char **argv)
{
    const char *python = getenv("VBOXSIM_PYTHON");
    char **args = calloc((size_t)argc + 3, sizeof(char *));
    int i;

    if (!python || !args) {
        fprintf(stderr, "vboxsim client: no service and no "
                        "VBOXSIM_PYTHON to run the call with\n");
        return 1;
    }
    args[0] = (char *)python;
    args[1] = "-m";
    args[2] = "vboxsim";
    for (i = 1; i < argc; i++)
        args[i + 2] = argv[i];
    execv(python, args);
    perror("vboxsim client: exec");
    return 1;
}

static int service_call(const char *name, int argc, char **argv)
{
    struct sockaddr_un addr;
    struct buffer req = {0}, ans = {0};
    char cwd[PATH_MAX], chunk[65536];
    size_t envc = 0, name_len = strlen(name), pos;
    uint32_t code, len;
    ssize_t n;
    int fd, i;

    if (name_len + 1 > sizeof(addr.sun_path))
        return -1;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path + 1, name, name_len); /* abstract: leading NUL */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&addr,
                (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                            name_len)) < 0) {
        close(fd);
        return -1;
    }
    if (!getcwd(cwd, sizeof(cwd)))
        strcpy(cwd, "/");
    while (environ[envc])
        envc++;
    put_u32(&req, (uint32_t)(argc - 1));
    put_u32(&req, (uint32_t)envc);
    for (i = 1; i < argc; i++)
        put_string(&req, argv[i]);
    for (i = 0; environ[i]; i++)
        put_string(&req, environ[i]);
    put_string(&req, cwd);
    if (write_all(fd, req.data, req.used) < 0 || shutdown(fd, SHUT_WR) < 0) {
        close(fd);
        return -1;
    }
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        put(&ans, chunk, (size_t)n);
    }
    close(fd);
    /* No answer: the call was not run (the service was going away). */
    if (ans.used < 12)
        return -1;
    code = get_u32((unsigned char *)ans.data);
    len = get_u32((unsigned char *)ans.data + 4);
    pos = 8 + (size_t)len;
    if (pos + 4 > ans.used ||
        pos + 4 + get_u32((unsigned char *)ans.data + pos) > ans.used) {
        fprintf(stderr, "vboxsim client: malformed answer\n");
        return 1;  /* the call did run: never run it twice */
    }
    write_all(1, ans.data + 8, len);
    write_all(2, ans.data + pos + 4,
              get_u32((unsigned char *)ans.data + pos));
    return (int)(code & 0xFF);
}

/* "-" names this process's stdin (--passwordfile -): the service's child
 * cannot read it, so such a call runs here. */
static int reads_stdin(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "-") == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = getenv("VBOXSIM_SERVICE_SOCKET");
    int code = name && *name && !reads_stdin(argc, argv)
                   ? service_call(name, argc, argv)
                   : -1;

    return code >= 0 ? code : run_itself(argc, argv);
}
