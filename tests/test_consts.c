/* The constants table: every name of the reference (its Constants list, the
 * levels and option names of its defsockopt table), from the one list
 * src/consts.def, is listed in its order and looked up; anything else is
 * -ENOENT.  The list's stanzas are checked for a macro guarded by another. */
#include "check.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/* The names the table must hold, in its order: the one list. */
static const char *const expected[] = {
#define RSOCK_CONST(name, macro) #name,
#define RSOCK_CONST_LACKING(name) #name,
#include "consts.def"
#undef RSOCK_CONST
#undef RSOCK_CONST_LACKING
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void each_name_is_found(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int v = -12345;
        int rc = rsock_const_lookup(names[i], &v);
        if (rc == -ENOTSUP)
            CHECK(strstr(rsock_error_message(), names[i]));
        else if (rc != 0)
            fprintf(stderr, "constant %s: %d\n", names[i], rc);
        CHECK(rc == 0 || rc == -ENOTSUP);
    }
}

static void test_every_reference_name(void)
{
    each_name_is_found(expected, COUNT(expected));
}

static void test_table_count_and_membership(void)
{
    size_t n = 0;
    const rsock_const *t = rsock_const_table(&n);
    REQUIRE(t != NULL);
    CHECK_EQ(n, COUNT(expected));
    CHECK(rsock_const_table(NULL) == t);
    for (size_t i = 0; i < n; i++) { /* each row looks itself up */
        int v = -1;
        int rc = rsock_const_lookup(t[i].name, &v);
        CHECK_EQ(rc, t[i].available ? 0 : -ENOTSUP);
        if (t[i].available)
            CHECK_EQ(v, t[i].value);
        if (i < COUNT(expected)) /* the list's order */
            CHECK(strcmp(t[i].name, expected[i]) == 0);
        for (size_t j = 0; j < i; j++) /* no name twice */
            CHECK(strcmp(t[i].name, t[j].name) != 0);
    }
}

/* Each stanza of src/consts.def guards the macro it uses and names itself
 * in both branches: "#ifdef M", "RSOCK_CONST(N, M)", "#else",
 * "RSOCK_CONST_LACKING(N)", "#endif" (N is M but for SO_OOBLINE). */
static void test_list_stanzas(void)
{
    const char *src = getenv("RSOCK_SOURCE");
    if (!src) {
        fprintf(stderr, "RSOCK_SOURCE unset (run under ctest): stanzas not read\n");
        return;
    }
    char path[4096], line[5][256], guard[128], name[128], macro[128], lacking[128];
    snprintf(path, sizeof path, "%s/src/consts.def", src);
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL);
    size_t stanzas = 0;
    while (fgets(line[0], sizeof line[0], f)) {
        if (strncmp(line[0], "#ifdef ", 7) != 0)
            continue;
        for (int i = 1; i < 5; i++)
            REQUIRE(fgets(line[i], sizeof line[i], f) != NULL);
        REQUIRE(sscanf(line[0], "#ifdef %127s", guard) == 1);
        REQUIRE(sscanf(line[1], "RSOCK_CONST(%127[A-Z0-9_], %127[A-Z0-9_])", name, macro) == 2);
        REQUIRE(sscanf(line[3], "RSOCK_CONST_LACKING(%127[A-Z0-9_])", lacking) == 1);
        CHECK(strcmp(guard, macro) == 0);
        CHECK(strcmp(name, lacking) == 0);
        CHECK(strcmp(line[2], "#else\n") == 0 && strcmp(line[4], "#endif\n") == 0);
        CHECK(strcmp(name, macro) == 0 || strcmp(name, "SO_OOBLINE") == 0);
        CHECK(stanzas < COUNT(expected) && strcmp(name, expected[stanzas]) == 0);
        stanzas++;
    }
    fclose(f);
    CHECK_EQ(stanzas, COUNT(expected));
}

static void test_values_are_the_systems(void)
{
    int v = 0;
    CHECK_EQ(rsock_const_lookup("AF_INET6", &v), 0); CHECK_EQ(v, AF_INET6);
    CHECK_EQ(rsock_const_lookup("SOCK_SEQPACKET", &v), 0); CHECK_EQ(v, SOCK_SEQPACKET);
    CHECK_EQ(rsock_const_lookup("TCP_NODELAY", &v), 0); CHECK_EQ(v, TCP_NODELAY);
    CHECK_EQ(rsock_const_lookup("MSG_NOSIGNAL", &v), 0); CHECK_EQ(v, MSG_NOSIGNAL);
    CHECK_EQ(rsock_const_lookup("IPPROTO_IP", &v), 0); CHECK_EQ(v, IPPROTO_IP);
    CHECK_EQ(rsock_const_lookup("IP_PKTINFO", &v), 0); CHECK_EQ(v, IP_PKTINFO);
    /* the reference's SO_OOBLINE is the kernel's SO_OOBINLINE */
    CHECK_EQ(rsock_const_lookup("SO_OOBLINE", &v), 0); CHECK_EQ(v, SO_OOBINLINE);
    CHECK_EQ(rsock_const_lookup("UNIX_MAX_PATH", &v), 0); CHECK_EQ(v, 108);
    CHECK_EQ(v, sizeof(((struct sockaddr_un *)0)->sun_path));
}

static void test_platform_lacks(void)
{
    int v = 7;
#ifndef SO_USELOOPBACK
    CHECK_ERR(rsock_const_lookup("SO_USELOOPBACK", &v), ENOTSUP,
              "rsock_const_lookup \"SO_USELOOPBACK\"");
    CHECK_EQ(v, 7);
#endif
#ifndef IPV6_FLOWINFO
    CHECK_ERR(rsock_const_lookup("IPV6_FLOWINFO", &v), ENOTSUP, "\"IPV6_FLOWINFO\"");
#endif
    (void)v;
}

static void test_refused(void)
{
    int v = 0;
    CHECK_ERR(rsock_const_lookup("SO_FOO", &v), ENOENT,
              "rsock_const_lookup \"SO_FOO\": not a constant of the reference");
    /* a real macro that the reference does not name */
    CHECK_ERR(rsock_const_lookup("SO_OOBINLINE", &v), ENOENT, "\"SO_OOBINLINE\"");
    CHECK_ERR(rsock_const_lookup("af_inet", &v), ENOENT, "\"af_inet\"");
    CHECK_ERR(rsock_const_lookup("", &v), ENOENT, "not a constant of the reference");
    CHECK_ERR(rsock_const_lookup(NULL, &v), EINVAL, "rsock_const_lookup: NULL name");
    CHECK_ERR(rsock_const_lookup("AF_INET", NULL), EINVAL, "rsock_const_lookup: NULL value");
}

int main(void)
{
    int fds = check_fd_count();
    RUN(test_every_reference_name);
    RUN(test_table_count_and_membership);
    RUN(test_list_stanzas);
    RUN(test_values_are_the_systems);
    RUN(test_platform_lacks);
    RUN(test_refused);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
