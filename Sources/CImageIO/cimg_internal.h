/* Internal helpers shared by the CImageIO sources. Not part of the public header. */
#ifndef CIMG_INTERNAL_H
#define CIMG_INTERNAL_H

#include <stddef.h>

/* printf-style write of an error message into the caller's buffer (always NUL-terminated). */
void cimg_set_msg(char *msg, size_t msg_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* CIMG_OK if width x height x channels passes the limits, else CIMG_ERR_TOO_LARGE (or
 * CIMG_ERR_CORRUPT for a zero side) with a message naming the size and the limit. */
int cimg_check_size(const char *what, unsigned long width, unsigned long height, int channels,
                    char *msg, size_t msg_cap);

/* A growable output buffer for encoders. */
typedef struct {
    unsigned char *data;
    size_t size;
    size_t cap;
    int failed; /* set when an allocation failed */
} cimg_membuf;

int cimg_membuf_append(cimg_membuf *b, const unsigned char *p, size_t n);

#endif
