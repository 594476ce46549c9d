/*
 * PNG decode, encode and text chunks over libpng 1.6, from and to memory.
 *
 * Error handling: libpng reports errors through error_fn below, which records the message and
 * longjmps back to the setjmp in the same public function; nothing longjmps out of this file.
 * State that must survive the longjmp lives in a heap-allocated context whose pointer is not
 * modified after setjmp, so its contents are well defined after the jump.
 */
#include "CImageIO.h"
#include "cimg_internal.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    /* input (decode) */
    const unsigned char *data;
    size_t size;
    size_t pos;
    /* output (encode) */
    cimg_membuf out;
    png_text *texts;
    char **text_copies;
    size_t text_count;
    /* decode buffers */
    unsigned char *pixels;
    png_bytep *rows;
    unsigned char *row;
    /* error reporting */
    char *msg;
    size_t msg_cap;
    int code;
    int msg_set;
} png_ctx;

static png_ctx *ctx_new(const unsigned char *data, size_t size, char *msg, size_t msg_cap) {
    png_ctx *c = calloc(1, sizeof(png_ctx));
    if (c == NULL) return NULL;
    c->data = data;
    c->size = size;
    c->msg = msg;
    c->msg_cap = msg_cap;
    c->code = CIMG_ERR_CORRUPT;
    return c;
}

static void ctx_free(png_ctx *c) {
    if (c == NULL) return;
    free(c->out.data);
    free(c->texts);
    if (c->text_copies != NULL) {
        for (size_t i = 0; i < c->text_count; i++) free(c->text_copies[i]);
        free(c->text_copies);
    }
    free(c->pixels);
    free(c->rows);
    free(c->row);
    free(c);
}

/* Frees `c` (may be NULL) and reports running out of memory before any libpng error handling. */
static int out_of_memory(png_ctx *c, char *msg, size_t msg_cap) {
    ctx_free(c);
    cimg_set_msg(msg, msg_cap, "out of memory");
    return CIMG_ERR_NOMEM;
}

static void fail(png_structp png, png_ctx *c, int code, const char *message) {
    if (!c->msg_set) {
        cimg_set_msg(c->msg, c->msg_cap, "%s", message);
        c->msg_set = 1;
        c->code = code;
    }
    png_error(png, message);
}

static void error_fn(png_structp png, png_const_charp message) {
    png_ctx *c = (png_ctx *)png_get_error_ptr(png);
    if (c != NULL && !c->msg_set) {
        cimg_set_msg(c->msg, c->msg_cap, "PNG: %s", message ? message : "unknown error");
        c->msg_set = 1;
        c->code = CIMG_ERR_CORRUPT;
    }
    png_longjmp(png, 1);
}

static void warning_fn(png_structp png, png_const_charp message) {
    /* Warnings (e.g. a known-incorrect sRGB profile) do not affect the decoded pixels. */
    (void)png;
    (void)message;
}

static void read_fn(png_structp png, png_bytep out, size_t n) {
    png_ctx *c = (png_ctx *)png_get_io_ptr(png);
    if (n > c->size - c->pos) {
        char m[160];
        cimg_set_msg(m, sizeof m, "truncated PNG data: needed %zu bytes at offset %zu of %zu",
                     n, c->pos, c->size);
        fail(png, c, CIMG_ERR_CORRUPT, m);
    }
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

static void write_fn(png_structp png, png_bytep p, size_t n) {
    png_ctx *c = (png_ctx *)png_get_io_ptr(png);
    if (!cimg_membuf_append(&c->out, p, n)) {
        fail(png, c, CIMG_ERR_NOMEM, "out of memory while encoding PNG");
    }
}

static void flush_fn(png_structp png) { (void)png; }

int cimg_is_png(const unsigned char *data, size_t size) {
    return data != NULL && size >= 8 && png_sig_cmp(data, 0, 8) == 0;
}

/* Common start of both readers: signature check, context, read and info structs. On success the
 * caller sets its setjmp, then calls read_header; every later exit goes through end_read. */
static int begin_read(const unsigned char *data, size_t size, char *msg, size_t msg_cap,
                      png_ctx **out_ctx, png_structp *out_png, png_infop *out_info) {
    if (data == NULL || size == 0) {
        cimg_set_msg(msg, msg_cap, "not a PNG file: no data");
        return CIMG_ERR_FORMAT;
    }
    if (!cimg_is_png(data, size)) {
        cimg_set_msg(msg, msg_cap, "not a PNG file: bad signature");
        return CIMG_ERR_FORMAT;
    }
    png_ctx *c = ctx_new(data, size, msg, msg_cap);
    if (c == NULL) return out_of_memory(NULL, msg, msg_cap);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, error_fn, warning_fn);
    if (png == NULL) return out_of_memory(c, msg, msg_cap);
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return out_of_memory(c, msg, msg_cap);
    }
    *out_ctx = c;
    *out_png = png;
    *out_info = info;
    return CIMG_OK;
}

/* Frees what begin_read made; returns `rc`. */
static int end_read(png_structp png, png_infop info, png_ctx *c, int rc) {
    png_destroy_read_struct(&png, &info, NULL);
    ctx_free(c);
    return rc;
}

/* Called after the caller's setjmp: reads through the header with our callbacks and limits. */
static void read_header(png_structp png, png_infop info, png_ctx *c) {
    png_set_read_fn(png, c, read_fn);
    /* A CRC error in any chunk, critical or ancillary, is an error. */
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    /* Let every size the format allows reach our own check, which gives a clearer message. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    /* The same cap on every build of libpng (some default to 8 MB, some to none): it bounds what
     * a text chunk, or a compressed one once inflated, may take. */
    png_set_chunk_malloc_max(png, CIMG_MAX_CHUNK);
    png_read_info(png, info);
}

/* Our size limit for `channels` bytes per pixel; longjmps with the limit's message when over. */
static void check_size(png_structp png, png_infop info, png_ctx *c, int channels) {
    int rc = cimg_check_size("PNG", png_get_image_width(png, info), png_get_image_height(png, info),
                             channels, c->msg, c->msg_cap);
    if (rc != CIMG_OK) {
        c->msg_set = 1;
        c->code = rc;
        png_error(png, "size limit");
    }
}

int cimg_decode_png(const unsigned char *data, size_t size, cimg_image *out,
                    char *msg, size_t msg_cap) {
    if (out == NULL) {
        cimg_set_msg(msg, msg_cap, "cimg_decode_png: out is NULL");
        return CIMG_ERR_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    png_ctx *c = NULL;
    png_structp png = NULL;
    png_infop info = NULL;
    int rc = begin_read(data, size, msg, msg_cap, &c, &png, &info);
    if (rc != CIMG_OK) return rc;
    if (setjmp(png_jmpbuf(png))) return end_read(png, info, c, c->code);
    read_header(png, info, c);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    int channels = ((color_type & PNG_COLOR_MASK_ALPHA) || has_trns) ? 4 : 3;
    check_size(png, info, c, channels);

    if (bit_depth == 16) png_set_scale_16(png);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (has_trns) png_set_tRNS_to_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
        png_set_gray_to_rgb(png);
    }
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t stride = (size_t)width * (size_t)channels;
    if (png_get_rowbytes(png, info) != stride || png_get_channels(png, info) != channels ||
        png_get_bit_depth(png, info) != 8) {
        fail(png, c, CIMG_ERR_CORRUPT, "PNG: unsupported pixel layout after conversion");
    }
    c->pixels = malloc(stride * (size_t)height);
    c->rows = malloc(sizeof(png_bytep) * (size_t)height);
    if (c->pixels == NULL || c->rows == NULL) {
        fail(png, c, CIMG_ERR_NOMEM, "out of memory for decoded PNG pixels");
    }
    for (png_uint_32 y = 0; y < height; y++) c->rows[y] = c->pixels + (size_t)y * stride;
    png_read_image(png, c->rows);
    png_read_end(png, NULL);

    out->pixels = c->pixels;
    out->width = (int)width;
    out->height = (int)height;
    out->channels = channels;
    c->pixels = NULL; /* ownership moves to the caller */
    return end_read(png, info, c, CIMG_OK);
}

static char *dup_bytes(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d == NULL) return NULL;
    if (n > 0) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int cimg_png_read_text(const unsigned char *data, size_t size,
                       cimg_text **out_texts, size_t *out_count,
                       char *msg, size_t msg_cap) {
    if (out_texts == NULL || out_count == NULL) {
        cimg_set_msg(msg, msg_cap, "cimg_png_read_text: NULL output argument");
        return CIMG_ERR_ARGUMENT;
    }
    *out_texts = NULL;
    *out_count = 0;
    png_ctx *c = NULL;
    png_structp png = NULL;
    png_infop info = NULL;
    int rc = begin_read(data, size, msg, msg_cap, &c, &png, &info);
    if (rc != CIMG_OK) return rc;
    if (setjmp(png_jmpbuf(png))) return end_read(png, info, c, c->code);
    read_header(png, info, c);
    png_uint_32 height = png_get_image_height(png, info);
    check_size(png, info, c, 4);
    /* Decode the raw rows one at a time into a scratch row: this checks every IDAT byte and
     * brings us to the chunks after the image data. */
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    c->row = malloc(png_get_rowbytes(png, info));
    if (c->row == NULL) fail(png, c, CIMG_ERR_NOMEM, "out of memory for a PNG row");
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < height; y++) png_read_row(png, c->row, NULL);
    }
    png_read_end(png, info); /* text after IDAT is added to the same info */

    png_textp texts = NULL;
    int n = png_get_text(png, info, &texts, NULL);
    if (n > 0 && texts != NULL) {
        cimg_text *result = calloc((size_t)n, sizeof(cimg_text));
        if (result == NULL) fail(png, c, CIMG_ERR_NOMEM, "out of memory for PNG text");
        for (int i = 0; i < n; i++) {
            const char *key = texts[i].key ? texts[i].key : "";
            const char *val = texts[i].text ? texts[i].text : "";
            size_t vlen = strlen(val);
            result[i].key = dup_bytes(key, strlen(key));
            result[i].value = dup_bytes(val, vlen);
            result[i].value_len = vlen;
            result[i].value_is_utf8 = texts[i].compression == PNG_ITXT_COMPRESSION_NONE ||
                                      texts[i].compression == PNG_ITXT_COMPRESSION_zTXt;
            if (result[i].key == NULL || result[i].value == NULL) {
                cimg_free_text(result, (size_t)n);
                fail(png, c, CIMG_ERR_NOMEM, "out of memory for PNG text");
            }
        }
        *out_texts = result;
        *out_count = (size_t)n;
    }
    return end_read(png, info, c, CIMG_OK);
}

/* PNG keyword rules (PNG spec 11.3.4.3): 1-79 bytes of printable Latin-1, no leading, trailing
 * or consecutive spaces. */
static int valid_keyword(const char *key, char *msg, size_t msg_cap) {
    if (key == NULL) {
        cimg_set_msg(msg, msg_cap, "PNG text key is NULL");
        return 0;
    }
    size_t n = strlen(key);
    if (n < 1 || n > 79) {
        cimg_set_msg(msg, msg_cap, "PNG text key \"%.79s\" must be 1 to 79 bytes long (is %zu)",
                     key, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)key[i];
        int printable = (ch >= 0x20 && ch <= 0x7E) || ch >= 0xA1;
        if (!printable) {
            cimg_set_msg(msg, msg_cap,
                         "PNG text key \"%s\" has a non-printable byte 0x%02X at position %zu",
                         key, ch, i);
            return 0;
        }
        if (ch == ' ' && (i == 0 || i == n - 1 || key[i + 1] == ' ')) {
            cimg_set_msg(msg, msg_cap,
                         "PNG text key \"%s\" has a leading, trailing or double space", key);
            return 0;
        }
    }
    return 1;
}

int cimg_encode_png(const unsigned char *pixels, int width, int height, int channels,
                    const cimg_text_in *texts, size_t text_count,
                    unsigned char **out_data, size_t *out_size,
                    char *msg, size_t msg_cap) {
    if (out_data == NULL || out_size == NULL || pixels == NULL) {
        cimg_set_msg(msg, msg_cap, "cimg_encode_png: NULL argument");
        return CIMG_ERR_ARGUMENT;
    }
    *out_data = NULL;
    *out_size = 0;
    if (channels != 3 && channels != 4) {
        cimg_set_msg(msg, msg_cap, "PNG encode: channels must be 3 or 4, got %d", channels);
        return CIMG_ERR_ARGUMENT;
    }
    if (width <= 0 || height <= 0) {
        cimg_set_msg(msg, msg_cap, "PNG encode: invalid image size %d x %d", width, height);
        return CIMG_ERR_ARGUMENT;
    }
    int rc = cimg_check_size("PNG encode", (unsigned long)width, (unsigned long)height, channels,
                             msg, msg_cap);
    if (rc != CIMG_OK) return rc;
    if (text_count > 0 && texts == NULL) {
        cimg_set_msg(msg, msg_cap, "cimg_encode_png: texts is NULL");
        return CIMG_ERR_ARGUMENT;
    }
    if (text_count > 100000) {
        cimg_set_msg(msg, msg_cap, "PNG encode: too many text chunks (%zu)", text_count);
        return CIMG_ERR_ARGUMENT;
    }
    for (size_t i = 0; i < text_count; i++) {
        if (!valid_keyword(texts[i].key, msg, msg_cap)) return CIMG_ERR_ARGUMENT;
        if (texts[i].value == NULL && texts[i].value_len > 0) {
            cimg_set_msg(msg, msg_cap, "PNG text \"%s\": value is NULL", texts[i].key);
            return CIMG_ERR_ARGUMENT;
        }
        if (texts[i].value_len > 0 && memchr(texts[i].value, 0, texts[i].value_len) != NULL) {
            cimg_set_msg(msg, msg_cap, "PNG text \"%s\": value contains a NUL byte",
                         texts[i].key);
            return CIMG_ERR_ARGUMENT;
        }
    }

    png_ctx *c = ctx_new(NULL, 0, msg, msg_cap);
    if (c == NULL) return out_of_memory(NULL, msg, msg_cap);
    if (text_count > 0) {
        c->texts = calloc(text_count, sizeof(png_text));
        c->text_copies = calloc(text_count, sizeof(char *));
        c->text_count = text_count;
        if (c->texts == NULL || c->text_copies == NULL) return out_of_memory(c, msg, msg_cap);
        for (size_t i = 0; i < text_count; i++) {
            c->text_copies[i] = dup_bytes(texts[i].value ? texts[i].value : "", texts[i].value_len);
            if (c->text_copies[i] == NULL) return out_of_memory(c, msg, msg_cap);
            c->texts[i].compression = texts[i].value_is_utf8 ? PNG_ITXT_COMPRESSION_NONE
                                                              : PNG_TEXT_COMPRESSION_NONE;
            c->texts[i].key = (png_charp)texts[i].key;
            c->texts[i].text = c->text_copies[i];
            c->texts[i].text_length = texts[i].value_len;
            c->texts[i].lang = NULL;
            c->texts[i].lang_key = NULL;
        }
    }

    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, error_fn, warning_fn);
    if (png == NULL) return out_of_memory(c, msg, msg_cap);
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        return out_of_memory(c, msg, msg_cap);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        rc = c->code;
        ctx_free(c);
        return rc;
    }
    png_set_write_fn(png, c, write_fn, flush_fn);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (c->text_count > 0) png_set_text(png, info, c->texts, (int)c->text_count);
    png_write_info(png, info);
    size_t stride = (size_t)width * (size_t)channels;
    for (int y = 0; y < height; y++) {
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * stride));
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);

    *out_data = c->out.data;
    *out_size = c->out.size;
    c->out.data = NULL; /* ownership moves to the caller */
    ctx_free(c);
    return CIMG_OK;
}
