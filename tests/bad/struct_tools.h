/* struct_tools.h — C structs for the bad programs struct_*.dsp. */
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double lat;
    double lon;
} Point;

struct place {
    char *name;
    Point at;
    int64_t rank;
};

typedef struct handle handle;

int locate(const char *q, Point *at);
int describe(const struct place *p, char **text);
int use(const handle *h);
int label(const char *q /* optional */, char **text);

struct reading {
    double temp;
};
int sense(const struct reading *r);
