/*
 * Fuzz driver for the configuration readers: the input is a whole file, read as YAML or as
 * HJSON/JSON by content, then checked and, when it loads, dumped as YAML and JSON and read
 * back; the second load must succeed (a dump is always a valid configuration).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reload(const struct config *cfg, enum config_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct config again;
	FILE *sink = fopen("/dev/null", "w");

	if (!f || !sink)
		abort();
	config_dump(cfg, f, fmt, fmt == CONFIG_FMT_YAML);
	fclose(f);
	config_init(&again);
	if (config_load_buf(&again, "dump", buf, len, sink) != 0)
		abort(); /* a dump must always load */
	config_fini(&again);
	fclose(sink);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	FILE *sink = fopen("/dev/null", "w");

	if (!sink)
		abort();
	config_init(&cfg);
	if (config_load_buf(&cfg, "fuzz", (const char *)data, size, sink) == 0 &&
	    config_check(&cfg, "fuzz", sink) == 0) {
		reload(&cfg, CONFIG_FMT_YAML);
		reload(&cfg, CONFIG_FMT_JSON);
	}
	config_fini(&cfg);
	fclose(sink);
	return 0;
}
