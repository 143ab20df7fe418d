/*
 * file: see file.h. The write is the classic replace-by-rename: a crash before the rename
 * leaves the old file (and perhaps a stale path.tmp, truncated by the next write); after the
 * rename, the directory fsync makes the new name durable. The data are fsync'ed before the
 * rename, so the new name never points at blocks not yet on disk.
 *
 * Invariants: every fd opened here is closed on every path; on failure before the rename,
 * path.tmp is removed (after it, path already is the new file and there is no path.tmp).
 */
#include "lib/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* no progress on a regular file: give up rather than spin */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync of the directory that holds path, so that the rename survives a crash. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, r = 0;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -errno;
	/* EINVAL: this file system cannot sync a directory (nothing more to do there). */
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
	return r;
}

int file_write_atomic(const char *path, const void *buf, size_t len)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + sizeof(".tmp"));
	int fd, r;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", sizeof(".tmp"));
	/* O_NOFOLLOW: a symlink planted at path.tmp is refused, not written through. */
	fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out_free;
	}
	/* A stale path.tmp keeps its old mode through O_CREAT: the state is not for others. */
	r = fchmod(fd, 0600) < 0 ? -errno : write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		goto out_unlink;
	}
	if (close(fd) < 0) {
		r = -errno;
		goto out_unlink;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto out_unlink;
	}
	free(tmp);
	/* Failing here, path already is the new file: only its durability is in doubt. */
	return sync_dir(path);

out_unlink:
	unlink(tmp);
out_free:
	free(tmp);
	return r;
}

int file_read_all(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *b;
	size_t got = 0, size;
	int fd, r;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO at path must not hang the caller before fstat refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out_close;
	}
	if ((uintmax_t)st.st_size > max) {
		r = -EFBIG;
		goto out_close;
	}
	size = (size_t)st.st_size;
	b = malloc(size ? size : 1);
	if (!b) {
		r = -ENOMEM;
		goto out_close;
	}
	/* The size fstat gave: a file shortened meanwhile ends at its EOF, a grown one at size. */
	while (got < size) {
		ssize_t n = read(fd, b + got, size - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(b);
			goto out_close;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*buf = b;
	*len = got;
	r = 0;
out_close:
	close(fd);
	return r;
}
