/* rsock-proxy's config file, rsock-proxy.conf(5): one directive a line,
 * named as the long options are, so a file says what the command line can
 * and is refused in the same words (config_set).  `listen NAME LOCAL` opens
 * a section that runs to the next `listen`; `server ADDRESS` adds a backend
 * to it.  No parser library: the format is a few words a line, and every
 * error must name FILE:LINE.  All errors of a file are told, not just the
 * first (up to MAX_ERRORS). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define LINE_MAX_BYTES 4096 /* longer lines are refused, never cut */
#define MAX_WORDS 4         /* the most a directive takes is 3 (listen NAME LOCAL) */
#define MAX_ERRORS 50       /* then stop: a binary file would say thousands */

struct reader {
    struct proxy_config *c;
    const char *file;
    int line;
    char where[320];                 /* "FILE:LINE: ", config_set's prefix */
    struct listener_config *section; /* the last `listen`, or NULL before it */
    struct listener_config refused;  /* the section of a refused `listen` line */
    int server_lines;                /* in this section, kept or refused */
    int errors;
};

/* An error at the current line: "rsock-proxy: FILE:LINE: ...". */
__attribute__((format(printf, 2, 3))) static void say(struct reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char text[1024];
    vsnprintf(text, sizeof text, fmt, ap);
    config_report("%s%s", r->where, text);
    va_end(ap);
    r->errors++;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

/* A quoted word from just after its opening quote: unescapes \" and \\ in
 * place, returns what follows the closing quote, or NULL (said). */
static char *unquote(struct reader *r, char *p)
{
    char *out = p;
    for (;;) {
        if (!*p) {
            say(r, "a quote is not closed");
            return NULL;
        }
        if (*p == '"')
            break;
        if (*p == '\\') {
            if (p[1] != '"' && p[1] != '\\') {
                say(r, "in quotes, a backslash escapes only \" and \\ (not \"\\%.1s\")", p + 1);
                return NULL;
            }
            p++;
        }
        *out++ = *p++;
    }
    *out = 0;
    return p + 1;
}

/* An unquoted word: ends at a blank, '#' or the end; a quote inside is
 * refused (quote the whole word).  Returns what follows, or NULL (said). */
static char *bare_word(struct reader *r, char *p)
{
    while (*p && !is_blank(*p) && *p != '#') {
        if (*p == '"') {
            say(r, "a quote inside a word (quote the whole word)");
            return NULL;
        }
        p++;
    }
    return p;
}

/* Split `line` into words in place: blanks separate them, '#' outside
 * quotes starts a comment.  The number of words (up to MAX_WORDS are kept,
 * more are counted), or -1 (said). */
static int split_words(struct reader *r, char *line, char **words)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (!*p || *p == '#')
            return n;
        bool quoted = *p == '"';
        char *word = quoted ? p + 1 : p;
        char *next = quoted ? unquote(r, p + 1) : bare_word(r, p);
        if (!next)
            return -1;
        if (*next && !is_blank(*next) && *next != '#') {
            say(r, "text right after a closing quote (a blank must follow it)");
            return -1;
        }
        char end = *next;
        *next = 0; /* (a quoted word's end was already written by unquote) */
        if (n < MAX_WORDS)
            words[n] = word;
        n++;
        p = end ? next + 1 : next;
        if (end == '#')
            return n;
    }
}

/* "NAME:PORT" with a host name (a letter in it): not resolved here, since a
 * backend's name may resolve later (it is re-resolved while running) and
 * --check must not wait on DNS.  Only the port is checked. */
static bool is_name_and_port(const char *text, bool *port_ok)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return false;
    bool letter = false;
    for (const char *p = text; p < colon; p++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._", *p))
            return false;
        letter |= (*p | 0x20) >= 'a' && (*p | 0x20) <= 'z';
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    *port_ok = colon[1] >= '0' && colon[1] <= '9' && !*end && !errno && port <= 65535 &&
               end - (colon + 1) <= 5;
    return letter;
}

/* Whether address text reads as rsock_addr_parse's grammar; said if not. */
static bool address_reads(struct reader *r, const char *what, const char *text)
{
    bool port_ok;
    if (is_name_and_port(text, &port_ok)) {
        if (!port_ok)
            say(r, "%s \"%s\": bad port (0..65535)", what, text);
        return port_ok;
    }
    rsock_addr a;
    if (rsock_addr_parse(&a, text) == 0)
        return true;
    say(r, "%s: %s", what, rsock_error_message());
    return false;
}

/* Listener names go into logs and metrics labels: a plain word. */
static bool name_is_plain(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= 64 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == n;
}

/* LOCAL may also be a socket from systemd or an inherited descriptor. */
static bool local_reads(struct reader *r, const char *local)
{
    if (!strcmp(local, "systemd") || !strncmp(local, "systemd:", 8) || !strncmp(local, "fd:", 3))
        return true;
    return address_reads(r, "LOCAL", local);
}

/* The section that ends (at the next `listen` or the file's end) has what
 * it needs: a backend, unless it relays to the original destination. */
static void end_section(struct reader *r)
{
    struct listener_config *l = r->section;
    if (l && l != &r->refused && !r->server_lines && !l->transparent) {
        config_report("%s:%d: listener %s has no server", r->file, l->line, l->name);
        r->errors++;
    }
    r->section = NULL;
    r->server_lines = 0;
}

/* The listener already named `name`, or with the same LOCAL (a port 0 may
 * repeat: the kernel gives each its own), or NULL. */
static const struct listener_config *clash(const struct proxy_config *c, const char *name,
                                           const char *local, const char **what)
{
    size_t n = strlen(local);
    bool any_port = n >= 2 && !strcmp(local + n - 2, ":0");
    for (int i = 0; i < c->nlisteners; i++) {
        const struct listener_config *l = &c->listeners[i];
        *what = !strcmp(l->name, name)                  ? "name"
                : !any_port && !strcmp(l->local, local) ? "LOCAL"
                                                        : NULL;
        if (*what)
            return l;
    }
    return NULL;
}

/* listen NAME LOCAL: a new section. */
static void listen_directive(struct reader *r, char **words, int n)
{
    end_section(r);
    /* Until the next listen, lines belong to this section, refused or not:
     * they are still checked, against a listener that is then forgotten. */
    r->refused = r->c->listener_defaults;
    r->section = &r->refused;
    if (n != 3) {
        say(r, "listen wants a NAME and a LOCAL address: listen NAME LOCAL");
        return;
    }
    const char *name = words[1], *local = words[2], *what;
    const struct listener_config *other = clash(r->c, name, local, &what);
    if (!name_is_plain(name))
        say(r, "listener name \"%s\": 1 to 64 letters, digits, '-', '.' or '_'", name);
    else if (other && !strcmp(what, "name"))
        say(r, "listener %s is already defined at line %d", name, other->line);
    else if (other)
        say(r, "listener %s: LOCAL %s is listener %s's already (line %d)", name, local, other->name,
            other->line);
    else if (r->c->nlisteners == MAX_LISTENERS)
        say(r, "too many listeners (at most %d)", MAX_LISTENERS);
    else if (local_reads(r, local)) {
        struct listener_config *l = config_add_listener(r->c, local);
        char *copy = strdup(name);
        if (!l || !copy) {
            free(copy);
            say(r, "out of memory");
            return;
        }
        free(l->name);
        l->name = copy;
        l->file = r->c->config_file;
        l->line = r->line;
        r->section = l;
    }
}

/* server ADDRESS: a backend of the current section. */
static void server_directive(struct reader *r, char **words, int n)
{
    r->server_lines++;
    int rc;
    if (!r->section)
        say(r, "server outside a listen section (put it under a `listen NAME LOCAL` line)");
    else if (n != 2)
        say(r, "server wants one ADDRESS (quote an address with blanks)");
    else if (strcmp(words[1], "original") && !address_reads(r, "server", words[1]))
        return; /* (`original`: the client's original destination, no address) */
    else if (r->section == &r->refused)
        return; /* checked, not kept */
    else if (r->section->nremotes == MAX_REMOTES)
        say(r, "listener %s: too many servers (at most %d)", r->section->name, MAX_REMOTES);
    else if ((rc = config_add_remote(r->section, words[1])) < 0) {
        if (rc == -ENOMEM)
            say(r, "out of memory");
        else
            r->errors++; /* said by config_add_remote */
    }
}

/* Whether `name` is an option at all (config_set says so when it is not). */
static bool is_global_option(struct reader *r, const char *name, const char *value)
{
    /* Tried on a copy of the globals: config_set refuses an unknown name
     * (said) and sets a known one, which the copy then forgets. */
    struct proxy_config *scratch = malloc(sizeof *scratch);
    if (!scratch)
        return false;
    config_defaults(scratch);
    bool known = config_set(scratch, NULL, name, value, r->where) == 0;
    config_free(scratch);
    free(scratch);
    return known;
}

/* NAME [VALUE]: an option, as on the command line without its "--". */
static void option_directive(struct reader *r, char **words, int n)
{
    const char *name = words[0], *value = n > 1 ? words[1] : NULL;
    if (n > 2)
        say(r, "%s takes one value, not %d (quote a value with blanks)", name, n - 1);
    else if (!strcmp(name, "config") || !strcmp(name, "check"))
        say(r, "%s is for the command line only", name);
    else if (r->section && !config_is_listener_option(name)) {
        if (is_global_option(r, name, value))
            say(r, "%s is a global option: say it before the first listen line", name);
        else
            r->errors++; /* config_set said why */
    } else if (config_set(r->c, r->section, name, value, r->where) < 0)
        r->errors++; /* said by config_set */
}

static void directive(struct reader *r, char **words, int n)
{
    if (!strcmp(words[0], "listen"))
        listen_directive(r, words, n);
    else if (!strcmp(words[0], "server"))
        server_directive(r, words, n);
    else
        option_directive(r, words, n);
}

/* One line as getline gave it (`len` bytes, its newline included). */
static void read_line(struct reader *r, char *line, size_t len)
{
    snprintf(r->where, sizeof r->where, "%s:%d: ", r->file, r->line);
    if (len > 0 && line[len - 1] == '\n')
        line[--len] = 0;
    if (len > LINE_MAX_BYTES) {
        say(r, "line too long (%zu bytes, at most %d)", len, LINE_MAX_BYTES);
        return;
    }
    if (strlen(line) != len) {
        say(r, "a NUL byte in the line");
        return;
    }
    char *words[MAX_WORDS];
    int n = split_words(r, line, words);
    if (n > 0)
        directive(r, words, n < MAX_WORDS ? n : MAX_WORDS);
    /* n > MAX_WORDS: directive sees MAX_WORDS, enough to say "too many" */
}

/* The file's lines, each read whole; an I/O error is said. */
static void read_lines(struct reader *r, FILE *f)
{
    char *line = NULL;
    size_t size = 0;
    ssize_t len = 0;
    while (r->errors < MAX_ERRORS && (len = getline(&line, &size, f)) >= 0) {
        r->line++;
        read_line(r, line, (size_t)len);
    }
    if (ferror(f))
        config_report("%s: cannot read: %s", r->file, strerror(errno)), r->errors++;
    else if (r->errors >= MAX_ERRORS && fgetc(f) != EOF)
        config_report("%s: too many errors, the rest is not read", r->file);
    free(line);
}

int parse_config_file(struct proxy_config *c, const char *file)
{
    if (!c->config_file && !(c->config_file = strdup(file)))
        return -ENOMEM;
    struct reader r = {.c = c, .file = file};
    FILE *f = fopen(file, "re");
    if (!f) {
        config_report("%s: cannot read: %s", file, strerror(errno));
        return -EINVAL;
    }
    read_lines(&r, f);
    fclose(f);
    end_section(&r);
    if (!r.errors && !c->nlisteners)
        config_report("%s: no listen section", file), r.errors++;
    return r.errors ? -EINVAL : 0;
}
