/* Test support: tab-separated vector files (the spec's *.tsv), split in place. */
#ifndef YGG64_TESTS_SUPPORT_TSV_H
#define YGG64_TESTS_SUPPORT_TSV_H

#include <stdbool.h>

enum { TSV_MAX_ROWS = 64, TSV_MAX_COLS = 8 };

/* rows[i][j] points into buf (owned; free with ts_tsv_free). Lines starting with '#' skipped. */
struct tsv {
	char *buf;
	char *rows[TSV_MAX_ROWS][TSV_MAX_COLS];
	int ncols[TSV_MAX_ROWS];
	int nrows;
};

/* false when the file cannot be read or has more than TSV_MAX_ROWS rows. */
bool ts_tsv_load(struct tsv *t, const char *path);
void ts_tsv_free(struct tsv *t);

#endif
