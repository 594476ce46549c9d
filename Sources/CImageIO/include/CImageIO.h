/*
 * CImageIO: PNG and JPEG decode/encode over libpng and libjpeg(-turbo), from and to memory.
 *
 * All setjmp/longjmp error handling of libpng and libjpeg stays inside these C functions:
 * no function here ever longjmps into its caller. Every function returns CIMG_OK or one of the
 * CIMG_ERR_* codes and, on error, writes a NUL-terminated, human-readable message into the
 * caller's buffer `msg` of capacity `msg_cap` (truncated to fit; `msg` may be NULL when
 * msg_cap is 0).
 *
 * Buffers returned through out-parameters are allocated with malloc and must be released with
 * cimg_free (pixels, encoded bytes) or cimg_free_text (text arrays). On error nothing is
 * returned and nothing needs freeing.
 *
 * Limits: decoders check width and height against CIMG_MAX_DIMENSION and the decoded size
 * against CIMG_MAX_BYTES before they allocate the pixel buffer.
 */
#ifndef CIMAGEIO_H
#define CIMAGEIO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CIMG_OK             0
#define CIMG_ERR_FORMAT     1  /* not a PNG / JPEG stream at all (bad signature) */
#define CIMG_ERR_CORRUPT    2  /* damaged or truncated data, CRC error, libjpeg warning */
#define CIMG_ERR_TOO_LARGE  3  /* dimensions or byte size above the limits below */
#define CIMG_ERR_NOMEM      4  /* allocation failed */
#define CIMG_ERR_ARGUMENT   5  /* bad argument from the caller (sizes, keys, channels) */

#define CIMG_MAX_DIMENSION  16384                   /* pixels, per side */
#define CIMG_MAX_BYTES      ((size_t)1 << 30)       /* decoded buffer, bytes (1 GiB) */
#define CIMG_MAX_CHUNK      ((size_t)64 << 20)      /* PNG ancillary chunk, and decompressed
                                                       zTXt/iTXt text, bytes (64 MiB) */

/* A decoded image: 8 bits per sample, interleaved, rows top to bottom, no padding.
 * channels is 3 (RGB) or 4 (RGBA, non-premultiplied). */
typedef struct {
    unsigned char *pixels;
    int width;
    int height;
    int channels;
} cimg_image;

/* One PNG text chunk. key is Latin-1; value is Latin-1 (tEXt, zTXt) or UTF-8 (iTXt) as told by
 * value_is_utf8. Both are NUL-terminated; value_len excludes the terminator. */
typedef struct {
    char *key;
    char *value;
    size_t value_len;
    int value_is_utf8;
} cimg_text;

/* An entry to write: key must be 1..79 printable Latin-1 bytes (0x20-0x7E, 0xA1-0xFF), without
 * leading, trailing or consecutive spaces. If value_is_utf8 is 0 the value is Latin-1 and goes
 * into a tEXt chunk; if 1 it is UTF-8 and goes into an uncompressed iTXt chunk. value must not
 * contain NUL bytes (value_len bytes are used; no terminator needed). */
typedef struct {
    const char *key;
    const char *value;
    size_t value_len;
    int value_is_utf8;
} cimg_text_in;

void cimg_free(void *p);
void cimg_free_text(cimg_text *texts, size_t count);

/* 1 if the buffer starts with the PNG / JPEG signature, else 0. */
int cimg_is_png(const unsigned char *data, size_t size);
int cimg_is_jpeg(const unsigned char *data, size_t size);

/* Decode a PNG of any colour type and bit depth (1/2/4/8/16; gray, gray+alpha, palette, RGB,
 * RGBA; tRNS; Adam7 interlaced). Output is RGB8 (channels 3) when the image has no alpha
 * channel and no tRNS chunk, else RGBA8 (channels 4). 16-bit samples are scaled to 8 bits
 * with rounding (libpng png_set_scale_16). CRC errors in any chunk are errors. */
int cimg_decode_png(const unsigned char *data, size_t size, cimg_image *out,
                    char *msg, size_t msg_cap);

/* Read all text chunks (tEXt, zTXt, iTXt, before and after the image data) of a PNG. The whole
 * stream is decoded and checked (one row at a time, no image buffer), so a corrupt PNG fails
 * here as in cimg_decode_png. *out_texts is NULL when *out_count is 0. A chunk above
 * CIMG_MAX_CHUNK is an error; a compressed text that inflates beyond it is skipped (libpng). */
int cimg_png_read_text(const unsigned char *data, size_t size,
                       cimg_text **out_texts, size_t *out_count,
                       char *msg, size_t msg_cap);

/* Encode 8-bit RGB (channels 3) or RGBA (channels 4) pixels as a non-interlaced PNG in memory,
 * with the given text chunks placed before the image data. */
int cimg_encode_png(const unsigned char *pixels, int width, int height, int channels,
                    const cimg_text_in *texts, size_t text_count,
                    unsigned char **out_data, size_t *out_size,
                    char *msg, size_t msg_cap);

/* Decode a baseline or progressive JPEG (YCbCr, RGB, grayscale, CMYK, YCCK) to RGB8
 * (channels 3). CMYK/YCCK are converted with R = (255-C)(255-K)/255 after undoing the Adobe
 * inversion when an Adobe marker is present. Any libjpeg warning (corrupt data, premature end
 * of file) is an error. */
int cimg_decode_jpeg(const unsigned char *data, size_t size, cimg_image *out,
                     char *msg, size_t msg_cap);

/* Encode 8-bit RGB pixels (channels 3) as a baseline JPEG (4:2:0, libjpeg ISLOW DCT) with
 * quality 1..100. */
int cimg_encode_jpeg(const unsigned char *pixels, int width, int height, int quality,
                     unsigned char **out_data, size_t *out_size,
                     char *msg, size_t msg_cap);

#ifdef __cplusplus
}
#endif

#endif /* CIMAGEIO_H */
