/* Shared helpers for CImageIO: freeing, messages, the size guard and a growable buffer. */
#include "CImageIO.h"
#include "cimg_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cimg_free(void *p) { free(p); }

void cimg_free_text(cimg_text *texts, size_t count) {
    if (texts == NULL) return;
    for (size_t i = 0; i < count; i++) {
        free(texts[i].key);
        free(texts[i].value);
    }
    free(texts);
}

void cimg_set_msg(char *msg, size_t msg_cap, const char *fmt, ...) {
    if (msg == NULL || msg_cap == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msg_cap, fmt, ap);
    va_end(ap);
    msg[msg_cap - 1] = '\0';
}

int cimg_check_size(const char *what, unsigned long width, unsigned long height, int channels,
                    char *msg, size_t msg_cap) {
    if (width == 0 || height == 0) {
        cimg_set_msg(msg, msg_cap, "%s: invalid image size %lu x %lu", what, width, height);
        return CIMG_ERR_CORRUPT;
    }
    if (width > CIMG_MAX_DIMENSION || height > CIMG_MAX_DIMENSION) {
        cimg_set_msg(msg, msg_cap, "image too large: %lu x %lu exceeds limit %d x %d",
                     width, height, CIMG_MAX_DIMENSION, CIMG_MAX_DIMENSION);
        return CIMG_ERR_TOO_LARGE;
    }
    /* Both sides are <= 16384 here, so the product fits comfortably in size_t (64-bit). */
    size_t bytes = (size_t)width * (size_t)height * (size_t)channels;
    if (bytes > CIMG_MAX_BYTES) {
        cimg_set_msg(msg, msg_cap,
                     "image too large: %lu x %lu x %d bytes exceeds limit of %zu bytes",
                     width, height, channels, (size_t)CIMG_MAX_BYTES);
        return CIMG_ERR_TOO_LARGE;
    }
    return CIMG_OK;
}

int cimg_membuf_append(cimg_membuf *b, const unsigned char *p, size_t n) {
    if (b->failed) return 0;
    if (n > ((size_t)-1) - b->size) { b->failed = 1; return 0; }
    if (b->size + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->size + n) {
            if (cap > ((size_t)-1) / 2) { cap = b->size + n; break; }
            cap *= 2;
        }
        unsigned char *d = realloc(b->data, cap);
        if (d == NULL) { b->failed = 1; return 0; }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->size, p, n);
    b->size += n;
    return 1;
}
