#ifndef DROPLINE_CLIBXML2_SHIM_H
#define DROPLINE_CLIBXML2_SHIM_H
// Foundation ships its own ICU; Debian's libxml2 headers would pull in the system one and clash.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>
#endif
