/* Config loading: every kind of invalid setting gets its exact FILE:LINE: SETTING message. */
#include "hd_config.h"
#include "hd_test.h"

#include <stdlib.h>

static void expect_error(const char *text, const char *want)
{
        char err[HD_ERRSTR_SIZE] = "";
        hd_config_t *cfg = hd_config_load_string(text, "t.conf", err, sizeof(err));

        HD_CHECK_MSG(cfg == NULL, "config unexpectedly valid: %s", text);
        hd_config_destroy(cfg);
        HD_CHECK_STR_EQ(err, want);
}

static void test_invalid(void)
{
        expect_error("foo = 1;", "t.conf:1: foo: unknown setting");
        expect_error("topics = {\n  ordred = \"x\";\n};",
                     "t.conf:2: topics.ordred: unknown setting");
        expect_error("topics = {\n ordered_partitions = \"6\";\n};",
                     "t.conf:2: topics.ordered_partitions: expected an integer, got a string");
        expect_error("topics = {\n\n ordered_partitions = 0;\n};",
                     "t.conf:3: topics.ordered_partitions: must be between 1 and 10000, got 0");
        expect_error("serde = { max_message_bytes = 99999999999L; };",
                     "t.conf:1: serde.max_message_bytes: must be between 1024 and 16777216, "
                     "got 99999999999");
        expect_error("topics = { ordered = \"bad topic\"; };",
                     "t.conf:1: topics.ordered: invalid character ' ' in topic name "
                     "(allowed: letters, digits, '.', '_', '-')");
        expect_error("log = { level = \"loud\"; };",
                     "t.conf:1: log.level: unknown log level \"loud\" (debug, info, warn, "
                     "error, off)");
        expect_error("log = 3;", "t.conf:1: log: expected a group, got an integer");
        expect_error("registry = {\n timeout_ms = 500;\n};",
                     "t.conf:1: registry.urls: missing required setting (or set "
                     "HERALD_REGISTRY_URL)");
        expect_error("registry = { urls = [ \"ftp://x\" ]; };",
                     "t.conf:1: registry.urls: entry 1: \"ftp://x\" is not an http:// or "
                     "https:// URL");
        expect_error("registry = { urls = [ ]; };",
                     "t.conf:1: registry.urls: must have 1 to 16 entries, got 0");
        expect_error("registry = { urls = 5; };",
                     "t.conf:1: registry.urls: expected a list of strings, got an integer");
        expect_error("registry = { urls = [\"http://r\"];\n username = \"u\"; };",
                     "t.conf:1: registry.password: missing required setting: "
                     "registry.username is set (use registry.password, "
                     "registry.password_env or registry.password_file)");
        expect_error("registry = { urls = [\"http://r\"];\n password = \"a\";\n"
                     " password_env = \"B\"; };",
                     "t.conf:3: registry.password_env: set only one of registry.password, "
                     "registry.password_env and registry.password_file");
        expect_error("registry = { urls = [\"http://r\"];\n"
                     " password_env = \"HD_TEST_NOT_SET_ANYWHERE\"; };",
                     "t.conf:2: registry.password_env: environment variable "
                     "HD_TEST_NOT_SET_ANYWHERE is not set");
        expect_error("registry = { urls = [\"http://r\"];\n"
                     " password_file = \"/nonexistent/secret\"; };",
                     "t.conf:2: registry.password_file: cannot read secret file: "
                     "/nonexistent/secret: No such file or directory");
        expect_error("registry = { urls = [\"http://r\"]; auto_register = 1; };",
                     "t.conf:1: registry.auto_register: expected a boolean, got an integer");
        expect_error("registry_server = { listen = \"localhost\"; };",
                     "t.conf:1: registry_server.listen: expected HOST:PORT, got \"localhost\"");
        expect_error("registry_server = { listen = \"0.0.0.0:99999\"; };",
                     "t.conf:1: registry_server.listen: port must be a number from 0 to "
                     "65535, got \"99999\"");
        expect_error("registry_server = { default_compatibility = \"SIDEWAYS\"; };",
                     "t.conf:1: registry_server.default_compatibility: unknown compatibility "
                     "level \"SIDEWAYS\" (NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, "
                     "FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE)");
        expect_error("kafka = {\n bootstrap_servers = \"b:9092\";\n no_such_prop = \"x\";\n};",
                     "t.conf:3: kafka.no_such_prop: unknown librdkafka property "
                     "\"no.such.prop\"");
        expect_error("kafka = {\n acks = \"sometimes\";\n};",
                     "t.conf:2: kafka.acks: Invalid value for configuration property "
                     "\"request.required.acks\"");
        {       /* found by fuzz_config: a name longer than the copy buffer */
                char text[400];
                snprintf(text, sizeof(text), "kafka = { %0300d = 5; };", 0);
                text[10] = 'a'; /* a name, not a number */
                expect_error(text, "t.conf:1: kafka: property name longer than 255 characters");
        }
        expect_error("kafka = { bootstrap_servers = [\"a\"]; };",
                     "t.conf:1: kafka.bootstrap_servers: expected a string, number or "
                     "boolean, got an array");
        /* libconfig keeps 32 bits: 4294967302 would silently read as 6 */
        expect_error("webhook = {\n workers = 4294967302; };",
                     "t.conf:2: webhook.workers: must be between 1 and 256, got 4294967302");
        expect_error("webhook = { workers = 0x100000006; };",
                     "t.conf:1: webhook.workers: must be between 1 and 256, got 4294967302");
        expect_error("email = { profiles = ( { name = \"a\"; host = \"h\";\n"
                     " from_address = \"x@y\"; port = 4294967321; } ); };",
                     "t.conf:2: email.profiles[0].port: must be between 1 and 65535, got "
                     "4294967321");
        expect_error("kafka = {\n linger_ms = 4294967301; };",
                     "t.conf:2: kafka.linger_ms: Configuration property "
                     "\"queue.buffering.max.ms\" value 4.29497e+09 is outside allowed range "
                     "0..900000");
        expect_error("dev = { brokers = 12; };",
                     "t.conf:1: dev.brokers: must be between 1 and 9, got 12");
        expect_error("webhook = { group = \"\"; };",
                     "t.conf:1: webhook.group: group id must be 1 to 249 letters, digits, "
                     "'.', '_', '-' (it names the DLQ topic herald.<group>.dlq)");
        expect_error("email = { profiles = ( { name = \"a\"; host = \"smtp.example.com\";\n"
                     " from_address = \"x@example.com\"; tls = \"none\";\n"
                     " username = \"u\"; password = \"pw12\"; } ); };",
                     "t.conf:1: email.profiles[0]: tls = \"none\" with credentials is only "
                     "allowed for a loopback host (would send the password in clear to "
                     "smtp.example.com)");
        expect_error("email = { profiles = (\n { name = \"a\"; host = \"h\"; from_address = "
                     "\"x@y\"; },\n { name = \"a\"; host = \"h\"; from_address = \"x@y\"; } ); };",
                     "t.conf:3: email.profiles[1]: duplicate profile name \"a\" (first at line 2)");
        expect_error("email = { profiles = ( { name = \"a\"; host = \"h\"; } ); };",
                     "t.conf:1: email.profiles[0].from_address: missing required setting");
        expect_error("email = { profiles = ( { name = \"a\"; host = \"h\";\n"
                     " from_address = \"x@y\"; port = 0; } ); };",
                     "t.conf:2: email.profiles[0].port: must be between 1 and 65535, got 0");
        expect_error("email = { profiles = ( { name = \"a\"; hots = \"h\"; } ); };",
                     "t.conf:1: email.profiles[0].hots: unknown setting");
        expect_error("topics = {\n ordered = \"a\";\n unordered = ; };",
                     "t.conf:3: syntax error: syntax error");
}

static void test_defaults_and_env(void)
{
        char err[HD_ERRSTR_SIZE] = "";
        hd_config_t *cfg;

        unsetenv("HERALD_BOOTSTRAP");
        unsetenv("HERALD_REGISTRY_URL");
        cfg = hd_config_load_string("", "empty", err, sizeof(err));
        HD_CHECK(cfg != NULL);
        if (!cfg)
                return;
        HD_CHECK_STR_EQ(cfg->topics.ordered, "billing.events.ordered");
        HD_CHECK_STR_EQ(cfg->topics.schemas, "_schemas");
        HD_CHECK_INT_EQ(cfg->topics.ordered_partitions, 6);
        HD_CHECK_INT_EQ(cfg->serde.max_message_bytes, 1048576);
        HD_CHECK_INT_EQ(cfg->log_level, HD_LOG_INFO);
        HD_CHECK(cfg->bootstrap == NULL);
        HD_CHECK_INT_EQ(cfg->registry.urls.n, 0);
        hd_config_destroy(cfg);

        setenv("HERALD_BOOTSTRAP", "env:1", 1);
        setenv("HERALD_REGISTRY_URL", "http://a:1, http://b:2", 1);
        setenv("HD_TEST_REG_PW", "s3cr3t-pw", 1);
        cfg = hd_config_load_string(
                "kafka = { bootstrap_servers = \"file:1\"; linger_ms = 5; };\n"
                "registry = { urls = [\"http://file:1\"]; username = \"u\";"
                " password_env = \"HD_TEST_REG_PW\"; };\n"
                "log = { level = \"debug\"; };",
                "full", err, sizeof(err));
        HD_CHECK_MSG(cfg != NULL, "%s", err);
        if (!cfg)
                return;
        HD_CHECK_STR_EQ(cfg->bootstrap, "env:1");
        HD_CHECK_INT_EQ(cfg->registry.urls.n, 2);
        HD_CHECK_STR_EQ(cfg->registry.urls.v[1], "http://b:2");
        HD_CHECK_STR_EQ(cfg->registry.password, "s3cr3t-pw");
        HD_CHECK_INT_EQ(cfg->nkafka, 2);
        HD_CHECK_STR_EQ(cfg->kafka[1].name, "linger.ms");
        HD_CHECK_STR_EQ(cfg->kafka[1].value, "5");
        HD_CHECK_INT_EQ(cfg->log_level, HD_LOG_DEBUG);
        hd_config_destroy(cfg);
        unsetenv("HERALD_BOOTSTRAP");
        unsetenv("HERALD_REGISTRY_URL");
}

static void test_secret_file(void)
{
        char path[1100], err[HD_ERRSTR_SIZE] = "", text[1300];
        hd_config_t *cfg;
        FILE *fp;

        snprintf(path, sizeof(path), "%s/pw", hd_test_tmpdir());
        fp = fopen(path, "w");
        HD_CHECK(fp != NULL);
        if (!fp)
                return;
        fputs("file-secret-1\n", fp);
        fclose(fp);
        snprintf(text, sizeof(text),
                 "kafka = { sasl_password_file = \"%s\"; };\n"
                 "registry = { urls = [\"http://r\"]; password_file = \"%s\"; };",
                 path, path);
        cfg = hd_config_load_string(text, "sec", err, sizeof(err));
        HD_CHECK_MSG(cfg != NULL, "%s", err);
        if (!cfg)
                return;
        HD_CHECK_STR_EQ(cfg->registry.password, "file-secret-1");
        HD_CHECK_STR_EQ(cfg->kafka[0].name, "sasl.password");
        HD_CHECK_STR_EQ(cfg->kafka[0].value, "file-secret-1");
        hd_config_destroy(cfg);
}

/* The shipped example must load as is: it documents every setting. */
static void test_smtp_profiles(void)
{
        char err[HD_ERRSTR_SIZE] = "";
        hd_config_t *cfg;

        setenv("HD_TEST_SMTP_PW", "smtp-pass-1", 1);
        cfg = hd_config_load_string(
                "email = { profiles = (\n"
                " { name = \"billing\"; host = \"127.0.0.1\"; tls = \"none\";"
                "   from_address = \"billing@example.com\"; from_name = \"Billing\";"
                "   username = \"u\"; password_env = \"HD_TEST_SMTP_PW\"; },\n"
                " { name = \"ops\"; host = \"smtp.example.com\"; port = 587;"
                "   from_address = \"ops@example.com\"; } ); };",
                "smtp", err, sizeof(err));
        HD_CHECK_MSG(cfg != NULL, "%s", err);
        if (!cfg)
                return;
        HD_CHECK_INT_EQ(cfg->email.nprofiles, 2);
        HD_CHECK_STR_EQ(hd_config_smtp_profile(cfg, "billing")->password, "smtp-pass-1");
        HD_CHECK_INT_EQ(hd_config_smtp_profile(cfg, "billing")->port, 25);
        HD_CHECK_STR_EQ(hd_config_smtp_profile(cfg, "ops")->tls, "starttls");
        HD_CHECK_INT_EQ(hd_config_smtp_profile(cfg, "ops")->port, 587);
        HD_CHECK(hd_config_smtp_profile(cfg, "nope") == NULL);
        hd_config_destroy(cfg);
}

static void test_example_config(void)
{
        char err[HD_ERRSTR_SIZE] = "";
        hd_config_t *cfg = hd_config_load(hd_test_src("deploy/herald.conf"), err, sizeof(err));

        HD_CHECK_MSG(cfg != NULL, "%s", err);
        hd_config_destroy(cfg);
        cfg = hd_config_load("/nonexistent/herald.conf", err, sizeof(err));
        HD_CHECK(cfg == NULL);
        HD_CHECK_STR_EQ(err, "cannot read config: /nonexistent/herald.conf: No such file "
                             "or directory");
}

int main(void)
{
        test_invalid();
        test_defaults_and_env();
        test_secret_file();
        test_smtp_profiles();
        test_example_config();
        hd_log_clear_secrets();
        return hd_test_finish("test_config");
}
