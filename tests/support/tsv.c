#include "support/tsv.h"

#include <stdlib.h>
#include <string.h>

#include "support/hex.h"

bool ts_tsv_load(struct tsv *t, const char *path)
{
	char *line, *save = NULL;

	memset(t, 0, sizeof(*t));
	t->buf = th_read_file(path, NULL);
	if (!t->buf)
		return false;
	for (line = strtok_r(t->buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f, *fsave = NULL;

		if (line[0] == '#')
			continue;
		if (t->nrows == TSV_MAX_ROWS)
			return false;
		for (f = strtok_r(line, "\t", &fsave); f && t->ncols[t->nrows] < TSV_MAX_COLS;
		     f = strtok_r(NULL, "\t", &fsave))
			t->rows[t->nrows][t->ncols[t->nrows]++] = f;
		t->nrows++;
	}
	return true;
}

void ts_tsv_free(struct tsv *t)
{
	free(t->buf);
	t->buf = NULL;
}
