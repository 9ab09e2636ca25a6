/* nn_csv.h — reading and writing tables as RFC 4180 CSV.
 *
 * Reading: the first row holds the column names (non-empty, unique, < NN_MAX_NAME bytes). Fields
 * may be quoted ("a,b", "say ""hi""", embedded line breaks); lines end in LF or CRLF; a UTF-8
 * byte order mark at the start is skipped; the last line needs no line break; empty lines are
 * skipped. Spaces are part of a field (RFC 4180), so `a, b` holds " b"; a closing quote must be
 * followed by a comma or a line end. Every field must be valid UTF-8 without NUL bytes. An empty
 * field, quoted or not, is a missing value. Each row must have as many fields as the header.
 * A header-only input gives a table of 0 rows.
 *
 * Column types are inferred: a column is a number column when every non-missing field is a
 * finite decimal number as strtod reads it in the "C" locale (spaces around it allowed, quotes
 * irrelevant: "1.5" and 1.225e+006 are numbers; hex, "inf" and "nan(…)" are not), else text. In
 * an otherwise numeric column the exact tokens NA, N/A, NaN, nan, null, NULL and blank fields
 * are missing (NaN); in a text column they are kept as text. An integer with a leading zero and
 * more than one digit (zip 02134, id "0322059210") makes its column text, so identifiers keep
 * their zeros. Columns listed in opts->text_columns are always text. A value that reads as a
 * number but overflows (1e999) or is infinite, in a column that is otherwise numeric, is an
 * error. A column with no values at all is a number column of NaN.
 *
 * Errors name the input and the physical line (1-based, counted by LF, of the row's first line):
 *   kc.csv:1842: expected 21 fields, found 20          NN_ERR_PARSE
 *   kc.csv:3: unterminated quoted field                NN_ERR_PARSE
 *   kc.csv:1: not valid UTF-8 text                     NN_ERR_PARSE
 *   kc.csv:5: field 2 exceeds 1048576 bytes            NN_ERR_LIMIT
 *   kc.csv:17: column "price": value "1e999" is out of range   NN_ERR_PARSE
 *   kc.csv: empty file                                 NN_ERR_PARSE
 *   cannot open kc.csv: No such file or directory      NN_ERR_IO
 *
 * Writing: the header, then one line per row, lines ending in LF. Numbers are printed with the
 * fewest significant digits (15, 16 or 17) that read back to the same double, so number columns
 * round-trip bit for bit (NaN becomes an empty field and reads back as NaN; infinities cannot be
 * written: NN_ERR_DOMAIN). Text is quoted when it holds a comma, quote, CR or LF, starts or ends
 * with a space or tab, or would read as a number or a missing token. What round-trips: number
 * columns exactly; text columns exactly when at least one value is not number-like (or when the
 * column is listed in text_columns on reading) — a text column whose values all look numeric,
 * e.g. {"123", "4.5"}, reads back as numbers, since quotes do not change inference. Empty
 * strings read back as missing (NULL); an all-missing column reads back as numbers. In a
 * one-column table a missing value is written as "" so that the line is not empty.
 *
 * No function here keeps a pointer to its arguments; the FILE passed to nn_csv_write is
 * borrowed and not closed. strtod is locale-dependent: libnn assumes the process keeps the
 * default "C" LC_NUMERIC.
 */
#ifndef NN_CSV_H
#define NN_CSV_H

#include <stdio.h>

#include "nn_common.h"
#include "nn_table.h"

#define NN_CSV_MAX_FIELD ((size_t)1 << 20)  /* default bytes per field (1 MiB) */
#define NN_CSV_MAX_ROWS ((size_t)100000000) /* default data rows (100 million) */
#define NN_CSV_CHUNK ((size_t)64 << 10)     /* bytes read from a file per csv_parse call */

typedef struct nn_csv_opts {
    const char *name;  /* shown in messages (e.g. the file name); NULL = "<input>", or the
                          path for nn_csv_read_file */
    size_t max_field;  /* bytes per field; 0 = NN_CSV_MAX_FIELD (1 MiB) */
    size_t max_fields; /* fields per row; 0 = NN_MAX_COLUMNS (values above it are lowered) */
    size_t max_rows;   /* data rows; 0 = NN_CSV_MAX_ROWS (100 million) */
    const char *const *text_columns; /* NULL-terminated list of columns forced to text, or NULL;
                                        each must name a header column (NN_ERR_INVALID if not) */
} nn_csv_opts;

/* Reads the CSV file at path into a new table; *out (owned by the caller) is written only on
 * success. opts may be NULL for the defaults. The file is read in NN_CSV_CHUNK pieces. */
nn_status nn_csv_read_file(const char *path, const nn_csv_opts *opts, nn_table **out,
                           nn_error *err);

/* Reads CSV text buf[0..len) (borrowed; need not be NUL-terminated) into a new table. */
nn_status nn_csv_read_mem(const char *buf, size_t len, const nn_csv_opts *opts, nn_table **out,
                          nn_error *err);

/* A CSV to read (nn_csv_source.c): a file, or text in memory, with columns to read as text
 * *where the header has them* — a spec's id or text columns, a model's text inputs, which new
 * rows may lack. */
typedef struct nn_csv_source {
    const char *path;        /* the file to read; NULL to read buf[0..len) */
    const char *buf;         /* CSV text, borrowed, need not be NUL-terminated */
    size_t len;              /* bytes of buf */
    const char *name;        /* shown in messages; NULL = the path, or "<input>" */
    const char *const *text; /* NULL-terminated names read as text when the header has them
                                (names it lacks are skipped, not errors), or NULL */
    const nn_csv_opts *opts; /* limits (max_field, max_fields, max_rows) or NULL; its name and
                                text_columns are not used */
} nn_csv_source;

/* Reads src into a new table (*out, the caller's); the header is read first to keep of
 * src->text only the columns it has. Errors as for nn_csv_read_file / nn_csv_read_mem. */
nn_status nn_csv_read_source(const nn_csv_source *src, nn_table **out, nn_error *err);

/* Only the header of src: a table of 0 rows whose columns are the header's names (types
 * meaningless). Reads the first record only (at most NN_CSV_MAX_HEADER bytes). */
#define NN_CSV_MAX_HEADER ((size_t)NN_MAX_COLUMNS * 2 * NN_MAX_NAME)
nn_status nn_csv_read_header(const nn_csv_source *src, nn_table **out, nn_error *err);

/* Writes t as CSV to a new file at path (replacing it); on failure the partial file is removed. */
nn_status nn_csv_write_file(const char *path, const nn_table *t, nn_error *err);

/* Formats text as one CSV field as nn_csv_write writes a text cell: quoted, with quotes doubled,
 * when it holds a comma, quote, CR or LF, starts or ends with a space or tab, or would read back
 * as a number or a missing token — or always when quote_always (identifiers a reader must keep
 * as text); as it is otherwise ("" for an empty text). Writes at most size bytes to out,
 * NUL-terminated when size > 0 (out may be NULL when size is 0), and returns the field's length,
 * as snprintf does: one rule for every CSV nnd and nn write, names included. */
size_t nn_csv_format_field(const char *text, int quote_always, char *out, size_t size);

/* Writes t as CSV to f (borrowed, not closed, flushed). Fails with NN_ERR_INVALID for a table
 * without columns, NN_ERR_DOMAIN for an infinite number, NN_ERR_IO when a write fails. */
nn_status nn_csv_write(FILE *f, const nn_table *t, nn_error *err);

#endif
