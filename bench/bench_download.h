/*
 * bench_download.h - the cancel_download scenario of peace-bench: `!cancel`
 * of a running http_download of a large body served on loopback.
 */
#ifndef PEACE_BENCH_DOWNLOAD_H
#define PEACE_BENCH_DOWNLOAD_H

#include <stddef.h>

#include "kit.h"

/*
 * trials times: an ensure of one http_download item whose server (a thread
 * of this process on 127.0.0.1) sends a 512 MiB body at about 64 MB/s; once
 * the item has written bytes, PUBLISH "!cancel"; times PUBLISH -> the
 * outcome written, and checks that the download's directory is empty again
 * (no partial file). Prints one `bench=cancel_download` line. Returns 0 when
 * every trial was cut and left nothing, else 1.
 */
int bench_cancel_download(const struct kit_opts *o, size_t trials);

#endif /* PEACE_BENCH_DOWNLOAD_H */
