/*
 * model.h — the target CRM's contact model as the rules see it: custom-field
 * definitions with their types and options. A neutral header: the pure rules
 * (mapping.c) use it without the Keap client (keap.c fills it from
 * GET /v2/contacts/model).
 */
#ifndef ATSRECON_MODEL_H
#define ATSRECON_MODEL_H

#include <stddef.h>

struct keap_field {
	char *id;
	char *label;
	char *type;		/* TEXT, DATE, DATE_TIME, DROPDOWN, ... */
	char *field_name;
	char **options;		/* option labels, for choice fields */
	size_t noptions;
};
struct keap_model {
	struct keap_field *fields;
	size_t n;
};
const struct keap_field *keap_model_field(const struct keap_model *, const char *label);
int keap_field_has_option(const struct keap_field *, const char *value);
void keap_model_free(struct keap_model *);

#endif
