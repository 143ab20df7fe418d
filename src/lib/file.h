/*
 * file: whole-file reads and crash-safe replacement, for state files (the NAT64 snapshot).
 *
 * file_write_atomic writes path.tmp (mode 0600, O_CLOEXEC|O_NOFOLLOW, truncated), fsyncs it,
 * renames it over path and fsyncs the directory, so that after a crash at any point path is
 * either the old file or the new one, never a mix. The temporary file is removed on failure.
 */
#ifndef YGG64_LIB_FILE_H
#define YGG64_LIB_FILE_H

#include <stddef.h>
#include <stdint.h>

/* 0, or a negative errno (the step that failed is the caller's to log with the path). */
int file_write_atomic(const char *path, const void *buf, size_t len);
/*
 * Reads the whole regular file path into a malloc'ed *buf (*len bytes). 0; -ENOENT when it
 * does not exist; -EFBIG when it is larger than max (nothing read); -EINVAL when it is not a
 * regular file; another negative errno.
 */
int file_read_all(const char *path, size_t max, uint8_t **buf, size_t *len);

#endif
