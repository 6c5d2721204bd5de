/*
 * Private to the store: the block layer (common/hs_store_block.c), which
 * implements hs_store_write, reads, counts and range deletes over the
 * backends' block primitives.
 */
#ifndef HS_STORE_BLOCK_H
#define HS_STORE_BLOCK_H

#include "hs_store_impl.h"

/* A handle's scratch state of the block layer (made on first use). */
typedef struct hs__blkst hs__blkst;
void hs__blk_state_free(hs__blkst *st);
/* Drops the cached last block of stream id, or of every stream when id is
 * NULL (after a rollback, a failed commit, a purge; st may be NULL). */
void hs__blk_forget(hs__blkst *st, const char *id);

int hs__blk_write(hs_store *s, const char *id, const hs_batch *b, uint8_t *status,
                  hs_write_result *res);
/* Up to n instances with after < t <= end: the first n ascending, or the
 * last n newest first when desc; appended to out. */
int hs__blk_read(hs_store *s, const char *id, int64_t after, int64_t end, size_t n, bool desc,
                 hs_batch *out);
int hs__blk_count(hs_store *s, const char *id, hs_interval range, int64_t *n);
/* Adds the number deleted to *deleted. */
int hs__blk_delete_range(hs_store *s, const char *id, hs_interval range, int64_t *deleted);

#endif
