/*
 * term.h - what the terminal the CLI writes to can do: redraw in place, how
 * wide it is, colour, and whether it shows UTF-8 (emoji) or only ASCII.
 *
 * cli_term_decide is a pure function of the facts (tested without a
 * terminal); cli_term_detect gathers them for a file descriptor from the
 * environment (TERM, NO_COLOR, LC_ALL / LC_CTYPE / LANG, COLUMNS) and the
 * terminal (isatty, TIOCGWINSZ).
 */
#ifndef PEACE_CLI_TERM_H
#define PEACE_CLI_TERM_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_TERM_WIDTH_DEFAULT 80u
#define CLI_TERM_WIDTH_MIN     20u
#define CLI_TERM_WIDTH_MAX     1000u

struct cli_term {
    bool live;      /* a TTY that can move the cursor: bars redrawn in place */
    bool color;     /* live and NO_COLOR unset or empty: SGR colours allowed */
    bool utf8;      /* the locale's charset is UTF-8, else ASCII only */
    unsigned width; /* columns, CLI_TERM_WIDTH_MIN..CLI_TERM_WIDTH_MAX */
};

/*
 * Decides from: is_tty (the descriptor is a terminal), term (TERM, NULL =
 * unset), no_color (NO_COLOR, NULL = unset), the locale variables (NULL =
 * unset; the first set and non-empty of lc_all, lc_ctype, lang decides) and
 * cols (the terminal's width, 0 = unknown: then columns_env, the COLUMNS
 * variable, then CLI_TERM_WIDTH_DEFAULT). TERM unset, empty or "dumb" is
 * line mode.
 */
void cli_term_decide(bool is_tty, const char *term, const char *no_color, const char *lc_all,
                     const char *lc_ctype, const char *lang, unsigned cols, const char *columns_env,
                     struct cli_term *out);

/* Detects for fd (see above). */
void cli_term_detect(int fd, struct cli_term *out);

/* The width of the terminal on fd now (TIOCGWINSZ), or fallback. */
unsigned cli_term_width(int fd, unsigned fallback);

/*
 * Copies the text s (NUL-terminated, from anywhere: item messages come from
 * workers) into out (cap bytes, always NUL-terminated) showing at most
 * max_cols columns: control characters and invalid UTF-8 become '?', and so
 * does any non-ASCII character when !utf8; wide characters count two
 * columns. Text cut short ends with an ellipsis ("…", or "..." in ASCII)
 * within max_cols. Returns the columns used.
 */
size_t cli_term_fit(char *out, size_t cap, const char *s, size_t max_cols, bool utf8);

#endif
