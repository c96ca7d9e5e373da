/*
 * replay_main.c - runs a fuzz target over files without libFuzzer: each
 * argument is a file or a directory of files (not recursive). Used by ctest
 * to replay the seed corpora (and any crash input added to them as a
 * regression) in every build, under ASan+UBSan in the sanitizer build.
 *
 * Fails when an argument cannot be read or no input was found, so a
 * misplaced corpus does not pass silently.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_INPUT_MAX (16u << 20)

/* Runs the target on one file. Returns 0, or -1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    size_t n;

    if (f == NULL) {
        (void)fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    data = malloc(REPLAY_INPUT_MAX);
    if (data == NULL) {
        (void)fclose(f);
        (void)fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    n = fread(data, 1, REPLAY_INPUT_MAX, f);
    if (ferror(f) || !feof(f)) {
        (void)fprintf(stderr, "replay: %s: unreadable or over %u bytes\n", path, REPLAY_INPUT_MAX);
        free(data);
        (void)fclose(f);
        return -1;
    }
    (void)fclose(f);
    /* A copy of exactly n bytes, so ASan sees any read past the input. */
    {
        uint8_t *exact = malloc(n > 0 ? n : 1);

        if (exact == NULL) {
            free(data);
            return -1;
        }
        memcpy(exact, data, n);
        free(data);
        (void)LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    return 0;
}

/* Runs every regular file of dir. Returns the count, or -1. */
static long replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long count = 0;

    if (d == NULL) {
        (void)fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;

        if (e->d_name[0] == '.') {
            continue;
        }
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path)) {
            continue;
        }
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (replay_file(path) != 0) {
            (void)closedir(d);
            return -1;
        }
        count++;
    }
    (void)closedir(d);
    return count;
}

int main(int argc, char **argv)
{
    long total = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            (void)fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            long n = replay_dir(argv[i]);

            if (n < 0) {
                return 1;
            }
            total += n;
        } else {
            if (replay_file(argv[i]) != 0) {
                return 1;
            }
            total++;
        }
    }
    if (total == 0) {
        (void)fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    printf("replay: %ld inputs, no property broken\n", total);
    return 0;
}
