/*
 * Tests for lib/file, in a fresh mkdtemp directory per test (removed afterwards): round trip,
 * replacement leaving no path.tmp, the errors of file_read_all (-ENOENT, -EFBIG, -EINVAL for a
 * directory and a FIFO), and failed writes that leave nothing behind (a missing directory, a
 * symlink planted at path.tmp, a rename over a directory).
 */
#include "lib/file.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/y64-test-file.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static void teardown(void)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(file, .init = setup, .fini = teardown);

static const char *at(const char *name)
{
	static char p[2][128];
	static int k;

	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* The names in dir, sorted, joined by spaces. */
static const char *listing(const char *d)
{
	static char out[512];
	struct dirent **e;
	int n = scandir(d, &e, NULL, alphasort);

	out[0] = 0;
	cr_assert_geq(n, 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(e[i]->d_name, ".") && strcmp(e[i]->d_name, "..")) {
			if (out[0])
				strcat(out, " ");
			strcat(out, e[i]->d_name);
		}
		free(e[i]);
	}
	free(e);
	return out;
}

static void expect_content(const char *path, const void *want, size_t n)
{
	uint8_t *b = (uint8_t *)"unset";
	size_t len = 99;

	cr_assert_eq(file_read_all(path, 1 << 20, &b, &len), 0);
	cr_assert_not_null(b);
	cr_assert_eq(len, n);
	cr_expect_eq(memcmp(b, want, n), 0);
	free(b);
}

Test(file, round_trip)
{
	uint8_t data[70000];
	struct stat st;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 256);
	cr_assert_eq(file_write_atomic(at("state"), data, sizeof(data)), 0);
	expect_content(at("state"), data, sizeof(data));
	cr_assert_eq(stat(at("state"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_expect_str_eq(listing(dir), "state");
}

Test(file, empty_file)
{
	uint8_t *b = NULL;
	size_t len = 5;

	cr_assert_eq(file_write_atomic(at("e"), "", 0), 0);
	cr_assert_eq(file_read_all(at("e"), 0, &b, &len), 0, "max 0 admits an empty file");
	cr_expect_not_null(b, "an empty file still gets a buffer to free");
	cr_expect_eq(len, 0);
	free(b);
}

Test(file, replace_keeps_no_tmp)
{
	cr_assert_eq(file_write_atomic(at("state"), "first version", 13), 0);
	cr_assert_eq(file_write_atomic(at("state"), "second", 6), 0);
	expect_content(at("state"), "second", 6);
	cr_expect_str_eq(listing(dir), "state");
}

/* A stale path.tmp (an earlier crash) is truncated and reused, and its loose mode fixed. */
Test(file, stale_tmp)
{
	int fd = open(at("state.tmp"), O_CREAT | O_WRONLY, 0644);
	struct stat st;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "leftover bytes of a longer file", 31), 31);
	fchmod(fd, 0644);
	close(fd);
	cr_assert_eq(file_write_atomic(at("state"), "new", 3), 0);
	expect_content(at("state"), "new", 3);
	cr_assert_eq(stat(at("state"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	cr_expect_str_eq(listing(dir), "state");
}

Test(file, read_missing)
{
	uint8_t *b = (uint8_t *)"unset";
	size_t len = 3;

	cr_expect_eq(file_read_all(at("nothing"), 100, &b, &len), -ENOENT);
	cr_expect_null(b);
	cr_expect_eq(len, 0);
}

Test(file, read_too_big)
{
	uint8_t data[100] = {1, 2, 3};
	uint8_t *b = (uint8_t *)"unset";
	size_t len = 3;

	cr_assert_eq(file_write_atomic(at("big"), data, sizeof(data)), 0);
	cr_expect_eq(file_read_all(at("big"), 99, &b, &len), -EFBIG);
	cr_expect_null(b);
	cr_expect_eq(len, 0);
	cr_assert_eq(file_read_all(at("big"), 100, &b, &len), 0, "exactly max is fine");
	cr_expect_eq(len, 100);
	free(b);
}

Test(file, read_not_regular)
{
	uint8_t *b = (uint8_t *)"unset";
	size_t len = 3;

	cr_expect_eq(file_read_all(dir, 1 << 20, &b, &len), -EINVAL, "a directory");
	cr_expect_null(b);
	cr_assert_eq(mkfifo(at("fifo"), 0600), 0);
	/* Without a writer, a blocking open would hang here. */
	cr_expect_eq(file_read_all(at("fifo"), 1 << 20, &b, &len), -EINVAL, "a FIFO");
	cr_expect_eq(file_read_all("/dev/null", 1 << 20, &b, &len), -EINVAL, "a device");
}

Test(file, read_through_symlink)
{
	cr_assert_eq(file_write_atomic(at("real"), "abc", 3), 0);
	cr_assert_eq(symlink(at("real"), at("link")), 0);
	expect_content(at("link"), "abc", 3);
}

Test(file, write_into_missing_directory)
{
	cr_expect_eq(file_write_atomic(at("no/such/dir/state"), "x", 1), -ENOENT);
	cr_expect_str_eq(listing(dir), "", "nothing created");
}

/* O_NOFOLLOW: a symlink at path.tmp is not written through; its target stays as it was. */
Test(file, write_refuses_symlinked_tmp)
{
	cr_assert_eq(file_write_atomic(at("victim"), "precious", 8), 0);
	cr_assert_eq(symlink(at("victim"), at("state.tmp")), 0);
	cr_expect_eq(file_write_atomic(at("state"), "attack", 6), -ELOOP);
	expect_content(at("victim"), "precious", 8);
	cr_expect_str_eq(listing(dir), "state.tmp victim", "no state written");
}

/* The rename fails (path is a directory): the error comes back and path.tmp is gone. */
Test(file, write_failed_rename_removes_tmp)
{
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/state/inner", dir);
	cr_assert_eq(mkdir(at("state"), 0700), 0);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_expect_eq(file_write_atomic(at("state"), "x", 1), -EISDIR);
	cr_expect_str_eq(listing(dir), "state");
}

Test(file, relative_path)
{
	char old[512];

	cr_assert_not_null(getcwd(old, sizeof(old)));
	cr_assert_eq(chdir(dir), 0);
	cr_expect_eq(file_write_atomic("rel", "r", 1), 0, "directory \".\"");
	cr_assert_eq(chdir(old), 0);
	expect_content(at("rel"), "r", 1);
}
