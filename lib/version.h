#ifndef PITH_VERSION_H
#define PITH_VERSION_H
#ifndef PITH_VERSION
#define PITH_VERSION "0.1.0"
#endif
#endif
