/*
 * core: the facade of the Yggdrasil protocol implementation. Code outside src/core includes
 * only this header (STYLE.md §2). So far the core exports the address derivation of
 * core/addr.h; the node itself (links, peers, tree, sessions) joins it as the roadmap lands.
 */
#ifndef YGG64_CORE_CORE_H
#define YGG64_CORE_CORE_H

#include "core/addr.h"

#endif
