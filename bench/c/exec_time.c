// Process-call timing helper for bench/diverter-call: runs programs one after another the way an
// OpenZiti router runs its diverter (Go's exec.Command(...).CombinedOutput(): a child with stdout
// and stderr on one pipe, read to the end, then waited for) and times each call.
//
//   exec_time < calls
//       each input line is one call: the program path and its arguments separated by tabs. For each
//       call prints one line "<exit status> <wall ns>" (status -1: killed by a signal) and, when the
//       status is not 0, the call's output on stderr.
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    if (line[n - 1] == '\n') line[--n] = '\0';
    if (n == 0) continue;
    char *argv[128];
    int argc = 0;
    for (char *field = strtok(line, "\t"); field && argc < 127; field = strtok(NULL, "\t")) argv[argc++] = field;
    argv[argc] = NULL;
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0) return perror("pipe"), 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    int64_t t0 = now_ns();
    pid_t pid;
    int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (err) {
      fprintf(stderr, "exec_time: cannot run %s: %s\n", argv[0], strerror(err));
      return 1;
    }
    char buf[65536], kept[4096];
    size_t kept_len = 0;
    ssize_t r;
    while ((r = read(out[0], buf, sizeof buf)) > 0)
      for (ssize_t i = 0; i < r && kept_len < sizeof kept - 1; i++) kept[kept_len++] = buf[i];
    close(out[0]);
    int status;
    waitpid(pid, &status, 0);
    int64_t t1 = now_ns();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    printf("%d %lld\n", code, (long long)(t1 - t0));
    if (code != 0) {
      kept[kept_len] = '\0';
      fprintf(stderr, "exec_time: %s exited %d: %s\n", argv[0], code, kept);
    }
  }
  free(line);
  return 0;
}
