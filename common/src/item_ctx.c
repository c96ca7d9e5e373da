/*
 * item_ctx.c - how item code reports progress: a thin forward to the
 * context's ops table, so items can be tested with a recording fake.
 */
#include <string.h>

#include "peace/item.h"

void pc_item_progress_inc(struct pc_item_ctx *ctx, uint64_t units, const char *msg)
{
    if (ctx != NULL && ctx->ops != NULL && ctx->ops->report != NULL) {
        ctx->ops->report(ctx->ops_ctx, ctx->item, units, false, msg, msg != NULL ? strlen(msg) : 0);
    }
}

void pc_item_progress_tick(struct pc_item_ctx *ctx, const char *msg)
{
    if (ctx != NULL && ctx->ops != NULL && ctx->ops->report != NULL) {
        ctx->ops->report(ctx->ops_ctx, ctx->item, 0, true, msg, msg != NULL ? strlen(msg) : 0);
    }
}

bool pc_item_cancelled(const struct pc_item_ctx *ctx)
{
    return pc_item_cancel_mode(ctx) != PC_MODE_FINISH;
}

enum pc_interrupt_mode pc_item_cancel_mode(const struct pc_item_ctx *ctx)
{
    if (ctx == NULL || ctx->cancel == NULL) {
        return PC_MODE_FINISH;
    }
    return pc_cancel_level(ctx->cancel);
}

int pc_item_cancel_fd(struct pc_item_ctx *ctx)
{
    if (ctx == NULL || ctx->cancel == NULL) {
        return -1;
    }
    return pc_cancel_fd(ctx->cancel);
}

enum pc_interrupt_mode pc_item_cancel_ack(struct pc_item_ctx *ctx)
{
    if (ctx == NULL || ctx->cancel == NULL) {
        return PC_MODE_FINISH;
    }
    return pc_cancel_ack(ctx->cancel);
}
