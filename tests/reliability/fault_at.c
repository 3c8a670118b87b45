/* fault_at: an LD_PRELOAD library that makes file I/O go wrong at an exact moment, with no hook in
 * tbptt itself: the moments are the system calls it makes.
 *
 * Freeze (test_kill_trials.py): stop a process there, so the test can SIGKILL the job right then --
 * mid-write of a run file's next image, between a checkpoint's write and its rename, in the middle
 * of the index rebuild, just after a run was published.
 *
 *   TBPTT_FREEZE_AT=OP:GLOB:N    freeze at the N-th call (1-based, per process) of OP on a path
 *                                matching GLOB (fnmatch, '*' also matches '/')
 *       OP = write               write the first half of the buffer, then freeze (a torn file)
 *            rename-before       freeze before renaming FROM (matched) into place
 *            rename-after        rename, then freeze
 *   TBPTT_FREEZE_MARKER=FILE     a line "PID OP PATH" is appended to FILE when frozen
 *
 * A frozen process sleeps until it is killed (by its launcher's death: PR_SET_PDEATHSIG).
 *
 * Fail (test_full_disk.py): from the N-th write on a matching path, every such write fails -- a
 * disk that filled up, without the privileges a small file system needs.
 *
 *   TBPTT_FAIL_AT=write:GLOB:N:ERR   ERR = ENOSPC (full disk) or EFBIG (a file-size limit: like the
 *                                    kernel, SIGXFSZ is raised first; it kills unless ignored)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum op { NONE, WRITE, RENAME_BEFORE, RENAME_AFTER };

static enum op g_op = NONE;
static char g_glob[PATH_MAX];
static long g_nth = 0, g_seen = 0;

static char g_fail_glob[PATH_MAX];
static long g_fail_from = 0, g_fail_seen = 0;
static int g_fail_errno = 0;

__attribute__((constructor)) static void configure(void) {
  const char* spec = getenv("TBPTT_FREEZE_AT");
  char op[32];
  if (spec && sscanf(spec, "%31[^:]:%4095[^:]:%ld", op, g_glob, &g_nth) == 3 && g_nth >= 1) {
    if (strcmp(op, "write") == 0) g_op = WRITE;
    if (strcmp(op, "rename-before") == 0) g_op = RENAME_BEFORE;
    if (strcmp(op, "rename-after") == 0) g_op = RENAME_AFTER;
  }
  char err[16];
  spec = getenv("TBPTT_FAIL_AT");
  if (spec && sscanf(spec, "write:%4095[^:]:%ld:%15s", g_fail_glob, &g_fail_from, err) == 3 && g_fail_from >= 1) {
    if (strcmp(err, "ENOSPC") == 0) g_fail_errno = ENOSPC;
    if (strcmp(err, "EFBIG") == 0) g_fail_errno = EFBIG;
  }
}

/* Whether this call is the one to freeze at. */
static int due(enum op op, const char* path) {
  if (g_op != op || !path || fnmatch(g_glob, path, 0) != 0) return 0;
  return ++g_seen == g_nth;
}

/* Whether this write fails (the disk is full from the g_fail_from-th matching write on). */
static int failing(const char* path) {
  if (!g_fail_errno || !path || fnmatch(g_fail_glob, path, 0) != 0) return 0;
  return ++g_fail_seen >= g_fail_from;
}

static void freeze(const char* what, const char* path) {
  const char* marker = getenv("TBPTT_FREEZE_MARKER");
  if (marker) {
    char line[PATH_MAX + 64];
    const int n = snprintf(line, sizeof line, "%ld %s %s\n", (long)getpid(), what, path);
    const int fd = open(marker, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      if (syscall(SYS_write, fd, line, (size_t)n) < 0) perror("fault_at: marker");
      close(fd);
    }
  }
  for (;;) pause();
}

static const char* fd_path(int fd, char* buf, size_t size) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, buf, size - 1);
  if (n < 0) return NULL;
  buf[n] = '\0';
  return buf;
}

/* write and pwrite: HDF5 (the index, checkpoints) and write_atomically (run images) use them. */
static ssize_t torn(int fd, const void* data, size_t size, off_t offset, int positioned) {
  typedef ssize_t (*write_fn)(int, const void*, size_t);
  typedef ssize_t (*pwrite_fn)(int, const void*, size_t, off_t);
  static write_fn real_write;
  static pwrite_fn real_pwrite;
  if (!real_write) real_write = (write_fn)dlsym(RTLD_NEXT, "write");
  if (!real_pwrite) real_pwrite = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
  char buf[PATH_MAX];
  if (g_fail_errno && fd > 2 && failing(fd_path(fd, buf, sizeof buf))) {
    if (g_fail_errno == EFBIG) raise(SIGXFSZ);
    errno = g_fail_errno;
    return -1;
  }
  if (g_op == WRITE && fd > 2 && size > 1 && due(WRITE, fd_path(fd, buf, sizeof buf))) {
    const size_t half = size / 2;
    if (positioned) real_pwrite(fd, data, half, offset);
    else real_write(fd, data, half);
    freeze("write", buf);
  }
  return positioned ? real_pwrite(fd, data, size, offset) : real_write(fd, data, size);
}

ssize_t write(int fd, const void* data, size_t size) { return torn(fd, data, size, 0, 0); }
ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) { return torn(fd, data, size, offset, 1); }
ssize_t pwrite64(int fd, const void* data, size_t size, off_t offset) { return torn(fd, data, size, offset, 1); }

int rename(const char* from, const char* to) {
  typedef int (*rename_fn)(const char*, const char*);
  static rename_fn real_rename;
  if (!real_rename) real_rename = (rename_fn)dlsym(RTLD_NEXT, "rename");
  if (due(RENAME_BEFORE, from)) freeze("rename-before", from);
  const int status = real_rename(from, to);
  if (g_op == RENAME_AFTER && due(RENAME_AFTER, from)) freeze("rename-after", from);
  return status;
}
