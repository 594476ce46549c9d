/*
 * JPEG decode and encode over libjpeg(-turbo), from and to memory.
 *
 * Error handling: error_exit and emit_message (for warnings) record the message and longjmp
 * back to the setjmp in the same public function; nothing longjmps out of this file. libjpeg
 * warnings mean corrupt or truncated data ("Premature end of JPEG file", "Corrupt JPEG data:
 * ...") and are treated as errors, except the three listed in benign_warning. State that must
 * survive the longjmp lives in a heap-allocated context.
 */
#include "CImageIO.h"
#include "cimg_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub; /* must be first: libjpeg sees a jpeg_error_mgr* */
    jmp_buf jump;
    char *msg;
    size_t msg_cap;
    int code;
    int msg_set;
} jerr_ctx;

static void record(j_common_ptr cinfo) {
    jerr_ctx *e = (jerr_ctx *)cinfo->err;
    if (e->msg_set) return;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    cimg_set_msg(e->msg, e->msg_cap, "JPEG: %s", buffer);
    e->msg_set = 1;
    e->code = CIMG_ERR_CORRUPT;
}

static void error_exit(j_common_ptr cinfo) {
    record(cinfo);
    longjmp(((jerr_ctx *)cinfo->err)->jump, 1);
}

/* Warnings that say nothing about the pixel data. */
static int benign_warning(int code) {
    return code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC;
}

static void emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) { /* a warning */
        if (benign_warning(cinfo->err->msg_code)) return;
        record(cinfo);
        longjmp(((jerr_ctx *)cinfo->err)->jump, 1);
    }
    /* level >= 0: trace messages, ignored */
}

static void output_message(j_common_ptr cinfo) { (void)cinfo; }

static void init_error(jerr_ctx *e, char *msg, size_t msg_cap) {
    jpeg_std_error(&e->pub);
    e->pub.error_exit = error_exit;
    e->pub.emit_message = emit_message;
    e->pub.output_message = output_message;
    e->msg = msg;
    e->msg_cap = msg_cap;
    e->code = CIMG_ERR_CORRUPT;
    e->msg_set = 0;
}

int cimg_is_jpeg(const unsigned char *data, size_t size) {
    return data != NULL && size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

typedef struct {
    struct jpeg_decompress_struct cinfo;
    jerr_ctx err;
    unsigned char *pixels;
    unsigned char *row;
    int created;
} jdec_ctx;

static void jdec_free(jdec_ctx *c) {
    if (c->created) jpeg_destroy_decompress(&c->cinfo);
    free(c->pixels);
    free(c->row);
    free(c);
}

int cimg_decode_jpeg(const unsigned char *data, size_t size, cimg_image *out,
                     char *msg, size_t msg_cap) {
    if (out == NULL) {
        cimg_set_msg(msg, msg_cap, "cimg_decode_jpeg: out is NULL");
        return CIMG_ERR_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    if (data == NULL || size == 0) {
        cimg_set_msg(msg, msg_cap, "not a JPEG file: no data");
        return CIMG_ERR_FORMAT;
    }
    if (!cimg_is_jpeg(data, size)) {
        cimg_set_msg(msg, msg_cap, "not a JPEG file: bad signature");
        return CIMG_ERR_FORMAT;
    }
    jdec_ctx *c = calloc(1, sizeof(jdec_ctx));
    if (c == NULL) {
        cimg_set_msg(msg, msg_cap, "out of memory");
        return CIMG_ERR_NOMEM;
    }
    c->cinfo.err = &c->err.pub;
    init_error(&c->err, msg, msg_cap);
    if (setjmp(c->err.jump)) {
        int rc = c->err.code;
        jdec_free(c);
        return rc;
    }
    jpeg_create_decompress(&c->cinfo);
    c->created = 1;
    jpeg_mem_src(&c->cinfo, data, (unsigned long)size);
    (void)jpeg_read_header(&c->cinfo, TRUE);

    JDIMENSION width = c->cinfo.image_width;
    JDIMENSION height = c->cinfo.image_height;
    int rc = cimg_check_size("JPEG", width, height, 3, msg, msg_cap);
    if (rc != CIMG_OK) {
        jdec_free(c);
        return rc;
    }
    int cmyk = c->cinfo.jpeg_color_space == JCS_CMYK || c->cinfo.jpeg_color_space == JCS_YCCK;
    c->cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    (void)jpeg_start_decompress(&c->cinfo);

    int want = cmyk ? 4 : 3;
    if (c->cinfo.output_width != width || c->cinfo.output_height != height ||
        c->cinfo.output_components != want) {
        cimg_set_msg(msg, msg_cap, "JPEG: unexpected output layout (%u x %u x %d)",
                     c->cinfo.output_width, c->cinfo.output_height,
                     c->cinfo.output_components);
        jdec_free(c);
        return CIMG_ERR_CORRUPT;
    }
    size_t stride = (size_t)width * 3;
    c->pixels = malloc(stride * (size_t)height);
    if (cmyk) c->row = malloc((size_t)width * 4);
    if (c->pixels == NULL || (cmyk && c->row == NULL)) {
        cimg_set_msg(msg, msg_cap, "out of memory for decoded JPEG pixels");
        jdec_free(c);
        return CIMG_ERR_NOMEM;
    }
    /* Adobe CMYK JPEGs store inverted values (0 = full ink); undo that so C/M/Y/K are ink. */
    int inverted = cmyk && c->cinfo.saw_Adobe_marker;
    while (c->cinfo.output_scanline < height) {
        size_t y = c->cinfo.output_scanline;
        JSAMPROW dest = cmyk ? c->row : c->pixels + y * stride;
        if (jpeg_read_scanlines(&c->cinfo, &dest, 1) != 1) {
            cimg_set_msg(msg, msg_cap, "JPEG: could not read scanline %zu of %u", y, height);
            jdec_free(c);
            return CIMG_ERR_CORRUPT;
        }
        if (cmyk) {
            unsigned char *o = c->pixels + y * stride;
            for (JDIMENSION x = 0; x < width; x++) {
                unsigned int ink[4];
                for (int k = 0; k < 4; k++) {
                    unsigned int v = c->row[x * 4 + k];
                    ink[k] = inverted ? 255u - v : v;
                }
                unsigned int kw = 255u - ink[3];
                for (int k = 0; k < 3; k++) {
                    /* (255 - ink) * (255 - K) / 255, rounded */
                    o[x * 3 + k] = (unsigned char)(((255u - ink[k]) * kw + 127u) / 255u);
                }
            }
        }
    }
    (void)jpeg_finish_decompress(&c->cinfo);

    out->pixels = c->pixels;
    out->width = (int)width;
    out->height = (int)height;
    out->channels = 3;
    c->pixels = NULL; /* ownership moves to the caller */
    jdec_free(c);
    return CIMG_OK;
}

/* A destination manager that appends to a cimg_membuf (libjpeg's jpeg_mem_dest leaks its
 * buffer when an error interrupts compression). */
typedef struct {
    struct jpeg_destination_mgr pub;
    cimg_membuf buf;
    JOCTET chunk[16384];
} jdest;

static void dest_init(j_compress_ptr cinfo) {
    jdest *d = (jdest *)cinfo->dest;
    d->pub.next_output_byte = d->chunk;
    d->pub.free_in_buffer = sizeof d->chunk;
}

static boolean dest_empty(j_compress_ptr cinfo) {
    jdest *d = (jdest *)cinfo->dest;
    if (!cimg_membuf_append(&d->buf, d->chunk, sizeof d->chunk)) {
        ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    }
    d->pub.next_output_byte = d->chunk;
    d->pub.free_in_buffer = sizeof d->chunk;
    return TRUE;
}

static void dest_term(j_compress_ptr cinfo) {
    jdest *d = (jdest *)cinfo->dest;
    size_t n = sizeof d->chunk - d->pub.free_in_buffer;
    if (n > 0 && !cimg_membuf_append(&d->buf, d->chunk, n)) {
        ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    }
}

typedef struct {
    struct jpeg_compress_struct cinfo;
    jerr_ctx err;
    jdest dest;
    int created;
} jenc_ctx;

static void jenc_free(jenc_ctx *c) {
    if (c->created) jpeg_destroy_compress(&c->cinfo);
    free(c->dest.buf.data);
    free(c);
}

int cimg_encode_jpeg(const unsigned char *pixels, int width, int height, int quality,
                     unsigned char **out_data, size_t *out_size,
                     char *msg, size_t msg_cap) {
    if (out_data == NULL || out_size == NULL || pixels == NULL) {
        cimg_set_msg(msg, msg_cap, "cimg_encode_jpeg: NULL argument");
        return CIMG_ERR_ARGUMENT;
    }
    *out_data = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0) {
        cimg_set_msg(msg, msg_cap, "JPEG encode: invalid image size %d x %d", width, height);
        return CIMG_ERR_ARGUMENT;
    }
    if (quality < 1 || quality > 100) {
        cimg_set_msg(msg, msg_cap, "JPEG encode: quality must be 1...100, got %d", quality);
        return CIMG_ERR_ARGUMENT;
    }
    int rc = cimg_check_size("JPEG encode", (unsigned long)width, (unsigned long)height, 3,
                             msg, msg_cap);
    if (rc != CIMG_OK) return rc;

    jenc_ctx *c = calloc(1, sizeof(jenc_ctx));
    if (c == NULL) {
        cimg_set_msg(msg, msg_cap, "out of memory");
        return CIMG_ERR_NOMEM;
    }
    c->cinfo.err = &c->err.pub;
    init_error(&c->err, msg, msg_cap);
    if (setjmp(c->err.jump)) {
        rc = c->err.code;
        jenc_free(c);
        return rc;
    }
    jpeg_create_compress(&c->cinfo);
    c->created = 1;
    c->dest.pub.init_destination = dest_init;
    c->dest.pub.empty_output_buffer = dest_empty;
    c->dest.pub.term_destination = dest_term;
    c->cinfo.dest = &c->dest.pub;
    c->cinfo.image_width = (JDIMENSION)width;
    c->cinfo.image_height = (JDIMENSION)height;
    c->cinfo.input_components = 3;
    c->cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c->cinfo);
    jpeg_set_quality(&c->cinfo, quality, TRUE);
    jpeg_start_compress(&c->cinfo, TRUE);
    size_t stride = (size_t)width * 3;
    while (c->cinfo.next_scanline < c->cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)c->cinfo.next_scanline * stride);
        (void)jpeg_write_scanlines(&c->cinfo, &row, 1);
    }
    jpeg_finish_compress(&c->cinfo);

    *out_data = c->dest.buf.data;
    *out_size = c->dest.buf.size;
    c->dest.buf.data = NULL; /* ownership moves to the caller */
    jenc_free(c);
    return CIMG_OK;
}
