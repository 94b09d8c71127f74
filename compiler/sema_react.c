/* sema_react.c — `react(Sig, tools: [search, lookup], max_iters: 6)`: its
 * options, and the two predictors it is made of (ir.h, ir_react): the step
 * predictor whose signature lists the tools and the JSON schema of their
 * arguments, and the extract predictor that answers from the trajectory. */
#include "sema_int.h"

#include <string.h>

#define REACT_DEFAULT_ITERS 8
#define REACT_DEFAULT_OBSERVATION 4000

/* The JSON schema of a tool argument's type, as the LM reads it. */
static const char *schema_of(sema *s, const ir_type *t)
{
    switch (t->kind) {
    case IR_STRING: return "{\"type\": \"string\"}";
    case IR_INT: return "{\"type\": \"integer\"}";
    case IR_FLOAT: return "{\"type\": \"number\"}";
    case IR_BOOL: return "{\"type\": \"boolean\"}";
    case IR_LIST: return arena_printf(s->a, "{\"type\": \"array\", \"items\": %s}", schema_of(s, t->elem));
    case IR_OPTIONAL: return schema_of(s, t->elem);
    case IR_ENUM: {
        const char *v = "";
        for (size_t i = 0; i < t->n_values; i++)
            v = arena_printf(s->a, "%s%s\"%s\"", v, i ? ", " : "", t->values[i]);
        return arena_printf(s->a, "{\"type\": \"string\", \"enum\": [%s]}", v);
    }
    case IR_RECORD: {
        /* A C struct's record (docs/c-headers.md): every field required
         * but the optional ones (`bool has_x;`, a struct pointer, NULL). */
        const char *props = "", *req = "";
        for (size_t i = 0; i < t->n_fields; i++) {
            props = arena_printf(s->a, "%s%s\"%s\": %s", props, i ? ", " : "", t->fields[i].name,
                                 schema_of(s, t->fields[i].type));
            if (t->fields[i].type->kind != IR_OPTIONAL)
                req = arena_printf(s->a, "%s%s\"%s\"", req, req[0] ? ", " : "", t->fields[i].name);
        }
        return arena_printf(s->a, "{\"type\": \"object\", \"properties\": {%s}, \"required\": [%s]}", props, req);
    }
    case IR_MAP:
        /* A C tool's map<string, T> (docs/c-headers.md): any keys. */
        return arena_printf(s->a, "{\"type\": \"object\", \"additionalProperties\": %s}", schema_of(s, t->elem));
    default:
        return "{}";
    }
}

static const char *args_schema(sema *s, const ir_tool *t)
{
    const char *o = "{";
    int first = 1;
    for (size_t i = 0; i < t->n_params; i++) {
        if (t->params[i].role != IR_PARAM_IN)
            continue;
        o = arena_printf(s->a, "%s%s\"%s\": %s", o, first ? "" : ", ", t->params[i].name,
                         schema_of(s, t->params[i].type));
        first = 0;
    }
    return arena_printf(s->a, "%s}", o);
}

/* A tool's description: the `//` comment lines right above its declaration
 * in the .dsp file, joined (like a doc comment); NULL if there are none. */
static const char *tool_doc(sema *s, const ast_decl *d)
{
    const ast_file *f = NULL;
    for (size_t i = 0; i < s->files.len && !f; i++)
        if (((const ast_file *)s->files.items[i])->src == d->loc.file)
            f = s->files.items[i];
    if (!f)
        return NULL;
    const char *doc = NULL;
    int want = d->loc.line - 1;
    for (size_t i = f->comments.len; i-- > 0;) {
        const ast_comment *c = f->comments.items[i];
        if (c->loc.line > want)
            continue;
        if (c->loc.line < want || c->is_block)
            break;
        const char *t = c->text + 2;
        while (*t == ' ' || *t == '/')
            t++;
        size_t n = strlen(t);
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\r' || t[n - 1] == '\n'))
            n--;
        doc = doc ? arena_printf(s->a, "%.*s %s", (int)n, t, doc) : arena_printf(s->a, "%.*s", (int)n, t);
        want--;
    }
    return doc;
}

static int reserved(const char *name)
{
    static const char *const names[] = { "trajectory", "next_thought", "next_tool_name", "next_tool_args", "reasoning" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static int int_opt(sema *s, const ast_sopt *o, long long lo, long long hi, long long *out)
{
    if (o->is_list || o->value->kind != AV_INT || o->value->i < lo || o->value->i > hi) {
        diag_error(s->d, o->loc, "react option `%s` takes an integer from %lld to %lld", o->key.name, lo, hi);
        return 0;
    }
    *out = o->value->i;
    return 1;
}

static const char *fields_list(sema *s, const ir_field *f, size_t n)
{
    const char *o = "";
    for (size_t i = 0; i < n; i++)
        o = arena_printf(s->a, "%s%s`%s`", o, i == 0 ? "" : i + 1 == n ? " and " : ", ", f[i].name);
    return o;
}

ir_react *sema_react_build(sema *s, const ast_call *c, const ir_signature *sig, const char *base, const char *module)
{
    int ok = 1;
    for (size_t i = 0; i < sig->n_inputs; i++)
        if (reserved(sig->inputs[i].name)) {
            diag_error(s->d, c->sig.loc, "react uses the field name `%s` itself; rename the input of signature `%s`",
                       sig->inputs[i].name, sig->name);
            ok = 0;
        }
    for (size_t i = 0; i < sig->n_outputs; i++)
        if (reserved(sig->outputs[i].name)) {
            diag_error(s->d, c->sig.loc, "react uses the field name `%s` itself; rename the output of signature `%s`",
                       sig->outputs[i].name, sig->name);
            ok = 0;
        }
    ir_react *r = arena_alloc(s->a, sizeof *r);
    r->max_iters = REACT_DEFAULT_ITERS;
    r->max_observation = REACT_DEFAULT_OBSERVATION;
    const ast_sopt *tools_opt = NULL;
    for (size_t i = 0; i < c->opts.len; i++) {
        const ast_sopt *o = c->opts.items[i];
        for (size_t k = 0; k < i; k++)
            if (strcmp(((const ast_sopt *)c->opts.items[k])->key.name, o->key.name) == 0) {
                diag_error(s->d, o->key.loc, "react option `%s` is given twice", o->key.name);
                ok = 0;
            }
        if (strcmp(o->key.name, "tools") == 0) {
            tools_opt = o;
        } else if (strcmp(o->key.name, "max_iters") == 0) {
            ok &= int_opt(s, o, 1, 100, &r->max_iters);
        } else if (strcmp(o->key.name, "max_observation") == 0) {
            ok &= int_opt(s, o, 100, 1000000, &r->max_observation);
        } else {
            static const char *const known[] = { "tools", "max_iters", "max_observation" };
            diag_error(s->d, o->key.loc, "react has no option `%s`%s (it takes tools, max_iters, max_observation)",
                       o->key.name, sema_did_you_mean(s, o->key.name, known, 3));
            ok = 0;
        }
    }
    if (!tools_opt || !tools_opt->is_list || tools_opt->names.len == 0) {
        diag_error(s->d, tools_opt ? tools_opt->loc : c->callee.loc,
                   "react needs its tools as a list: `react(%s, tools: [search, lookup])`", sig->name);
        return NULL;
    }
    const ir_tool **tools = arena_array(s->a, tools_opt->names.len + 1, sizeof *tools);
    const char **docs = arena_array(s->a, tools_opt->names.len + 1, sizeof *docs);
    size_t n = 0;
    for (size_t i = 0; i < tools_opt->names.len; i++) {
        const ast_ident *id = tools_opt->names.items[i];
        if (strcmp(id->name, "finish") == 0) {
            diag_error(s->d, id->loc, "`finish` is react's own tool (it ends the loop); leave it out of the list");
            ok = 0;
            continue;
        }
        sym *ts = sema_expect(s, id, SYM_TOOL);
        if (!ts || !ts->ir) {
            ok = 0;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            if (tools[k] == ts->ir) {
                diag_error(s->d, id->loc, "tool `%s` is listed twice", id->name);
                ok = 0;
            }
        docs[n] = tool_doc(s, ts->decl);
        tools[n++] = ts->ir;
    }
    if (!ok)
        return NULL;
    r->tools = tools;
    r->tool_docs = docs;
    r->n_tools = n;

    /* Inputs of both predictors: the signature's, then the trajectory. */
    ir_field *ins = arena_array(s->a, sig->n_inputs + 2, sizeof *ins);
    memcpy(ins, sig->inputs, sig->n_inputs * sizeof *ins);
    ins[sig->n_inputs].name = "trajectory";
    ins[sig->n_inputs].type = &s->t_string;
    ins[sig->n_inputs].desc = "The thoughts, tool calls and observations so far";
    size_t n_ins = sig->n_inputs + 1;

    const char *names = "";
    const char *list = "";
    const char *takes = "";
    for (size_t i = 0; i < n; i++) {
        names = arena_printf(s->a, "%s%s, ", names, tools[i]->name);
        takes = arena_printf(s->a, "%s%s takes %s; ", takes, tools[i]->name, args_schema(s, tools[i]));
        /* A description is a sentence; its own full stop ends it (not
         * "the query.. Arguments"). */
        size_t dn = docs[i] ? strlen(docs[i]) : 0;
        if (dn > 0 && docs[i][dn - 1] == '.')
            dn--;
        list = arena_printf(s->a, "%s(%zu) %s%s%.*s. Arguments: %s\n", list, i + 1, tools[i]->name,
                            docs[i] ? ": " : "", (int)dn, docs[i] ? docs[i] : "", args_schema(s, tools[i]));
    }
    list = arena_printf(s->a, "%s(%zu) finish: ends the task, once you have what is needed to produce %s. "
                        "Arguments: {}\n", list, n + 1, fields_list(s, sig->outputs, sig->n_outputs));
    ir_field *souts = arena_array(s->a, 4, sizeof *souts);
    souts[0] = (ir_field){ "next_thought", &s->t_string, "Your reasoning about what to do next" };
    souts[1] = (ir_field){ "next_tool_name", &s->t_string, arena_printf(s->a, "One of: %sfinish", names) };
    /* The schemas are in this description too: an optimizer may rewrite the
     * instructions, never the field descriptions. */
    souts[2] = (ir_field){ "next_tool_args", &s->t_string,
                           arena_printf(s->a, "The tool's arguments as a JSON object: %sfinish takes {}", takes) };

    ir_signature *ss = arena_alloc(s->a, sizeof *ss);
    ss->name = arena_printf(s->a, "%s.react", sig->name);
    ss->instructions = arena_printf(
        s->a,
        "%s%sYou are an agent. You are given the fields %s and your trajectory so far. Use the tools to "
        "gather what you need to produce %s. At each step, write your reasoning in `next_thought`, pick the "
        "next tool in `next_tool_name` and give its arguments in `next_tool_args` as a JSON object. The tool's "
        "result is added to the trajectory as an observation.\n\nThe tools:\n%s",
        sig->instructions ? sig->instructions : "", sig->instructions ? "\n\n" : "",
        fields_list(s, sig->inputs, sig->n_inputs), fields_list(s, sig->outputs, sig->n_outputs), list);
    ss->inputs = ins;
    ss->n_inputs = n_ins;
    ss->outputs = souts;
    ss->n_outputs = 3;
    ss->loc = sig->loc;

    ir_signature *es = arena_alloc(s->a, sizeof *es);
    es->name = arena_printf(s->a, "%s.extract", sig->name);
    es->instructions = sig->instructions;
    es->inputs = ins;
    es->n_inputs = n_ins;
    es->outputs = sig->outputs;
    es->n_outputs = sig->n_outputs;
    es->loc = sig->loc;

    ir_predictor *step = arena_alloc(s->a, sizeof *step);
    step->name = arena_printf(s->a, "%s.react", base);
    step->module = module;
    step->strategy = "predict";
    step->signature = ss;
    step->outputs = souts;
    step->n_outputs = 3;

    ir_field *eo = arena_array(s->a, sig->n_outputs + 2, sizeof *eo);
    eo[0] = (ir_field){ "reasoning", &s->t_string, NULL };
    memcpy(eo + 1, sig->outputs, sig->n_outputs * sizeof *eo);
    ir_predictor *ext = arena_alloc(s->a, sizeof *ext);
    ext->name = arena_printf(s->a, "%s.extract", base);
    ext->module = module;
    ext->strategy = "chain_of_thought";
    ext->signature = es;
    ext->outputs = eo;
    ext->n_outputs = sig->n_outputs + 1;

    r->step = step;
    r->extract = ext;
    return r;
}
