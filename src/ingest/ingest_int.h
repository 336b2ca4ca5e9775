/*
 * ingest/ingest_int.h: declarations shared by the files of module ingest only.
 */
#ifndef VIGIL_INGEST_INT_H
#define VIGIL_INGEST_INT_H

#include "ingest.h"

/* ingest.c: the catalog the write path validates against (for preview.c). */
catalog *ig_catalog(ingest *ig);

#endif /* VIGIL_INGEST_INT_H */
