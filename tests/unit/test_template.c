/* Template engine: syntax errors with positions, tokens collected, rendering modes. */
#include "hd_template.h"
#include "hd_test.h"

#include <stdlib.h>

/* A fake event: service.name set, service.note null, bill_run.id not offered. */
static int lookup(void *opaque, const char *token, char *buf, size_t size, char *errstr,
                  size_t errstr_size)
{
        (void)opaque;
        if (!strcmp(token, "service.name")) {
                snprintf(buf, size, "Fibre <1G> & \"more\"");
                return 0;
        }
        if (!strcmp(token, "account.id")) {
                snprintf(buf, size, "A-42");
                return 0;
        }
        if (!strcmp(token, "service.note"))
                return 1;
        snprintf(errstr, errstr_size, "token \"%s\" is not offered", token);
        return -1;
}

static char *render(const char *text, hd_tpl_mode_t mode, char *err, size_t errsize)
{
        hd_template_t *t = hd_template_compile(text, err, errsize);
        char *out;

        if (!t)
                return NULL;
        out = hd_template_render(t, mode, lookup, NULL, 1000, err, errsize);
        hd_template_destroy(t);
        return out;
}

static void expect_compile_error(const char *text, const char *want)
{
        char err[256] = "";
        hd_template_t *t = hd_template_compile(text, err, sizeof(err));

        HD_CHECK(t == NULL);
        hd_template_destroy(t);
        HD_CHECK_STR_EQ(err, want);
}

int main(void)
{
        char err[256] = "", *out;
        hd_template_t *t;

        t = hd_template_compile("Hi {{account.id}}, {{#service.name}}{{service.name}}"
                                "{{/service.name}}{{^service.note}}-{{/service.note}}",
                                err, sizeof(err));
        HD_CHECK(t != NULL);
        if (t) {
                HD_CHECK_INT_EQ(hd_template_ntokens(t), 3);
                HD_CHECK_STR_EQ(hd_template_token(t, 0), "account.id");
                HD_CHECK_STR_EQ(hd_template_token(t, 2), "service.note");
                hd_template_destroy(t);
        }
        out = render("Hi {{ account.id }}: {{service.name}}", HD_TPL_HTML, err, sizeof(err));
        HD_CHECK_STR_EQ(out, "Hi A-42: Fibre &lt;1G&gt; &amp; &quot;more&quot;");
        free(out);
        out = render("{{{service.name}}}", HD_TPL_HTML, err, sizeof(err));
        HD_CHECK_STR_EQ(out, "Fibre <1G> & \"more\"");
        free(out);
        out = render("{{service.name}}", HD_TPL_TEXT, err, sizeof(err));
        HD_CHECK_STR_EQ(out, "Fibre <1G> & \"more\"");
        free(out);
        out = render("[{{#service.note}}has note{{/service.note}}{{^service.note}}no note"
                     "{{/service.note}}]",
                     HD_TPL_TEXT, err, sizeof(err));
        HD_CHECK_STR_EQ(out, "[no note]");
        free(out);
        out = render("a {{bill_run.id}}", HD_TPL_TEXT, err, sizeof(err));
        HD_CHECK(out == NULL);
        HD_CHECK_STR_EQ(err, "token \"bill_run.id\" is not offered");
        out = render("plain { } }} text", HD_TPL_TEXT, err, sizeof(err));
        HD_CHECK_STR_EQ(out, "plain { } }} text");
        free(out);

        expect_compile_error("x {{account.id", "at 2: unclosed tag");
        expect_compile_error("x{{#a}}b", "at 1: unclosed section {{#a}}");
        expect_compile_error("{{/a}}", "at 0: {{/a}} closes no open section");
        expect_compile_error("{{#a}}{{/b}}", "at 6: {{/b}} closes no open section (open: a)");
        expect_compile_error("{{ }}", "at 3: empty tag");
        expect_compile_error("{{a b}}", "at 3: invalid character in token name (allowed: "
                                        "letters, digits, '_', '.')");
        expect_compile_error("{{>partial}}", "at 2: invalid character in token name "
                                             "(allowed: letters, digits, '_', '.')");

        t = hd_template_compile("{{service.name}}{{service.name}}", err, sizeof(err));
        out = hd_template_render(t, HD_TPL_TEXT, lookup, NULL, 30, err, sizeof(err));
        HD_CHECK(out == NULL);
        HD_CHECK_STR_EQ(err, "rendered text longer than 30 bytes");
        hd_template_destroy(t);
        return hd_test_finish("test_template");
}
