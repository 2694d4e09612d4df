/* model.c — see model.h. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

const struct keap_field *
keap_model_field(const struct keap_model *m, const char *label)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->fields[i].label, label) == 0)
			return &m->fields[i];
	return NULL;
}

int
keap_field_has_option(const struct keap_field *f, const char *value)
{
	size_t i;

	for (i = 0; i < f->noptions; i++)
		if (strcmp(f->options[i], value) == 0)
			return 1;
	return 0;
}

void
keap_model_free(struct keap_model *m)
{
	size_t i, o;

	for (i = 0; i < m->n; i++) {
		free(m->fields[i].id);
		free(m->fields[i].label);
		free(m->fields[i].type);
		free(m->fields[i].field_name);
		for (o = 0; o < m->fields[i].noptions; o++)
			free(m->fields[i].options[o]);
		free(m->fields[i].options);
	}
	free(m->fields);
	memset(m, 0, sizeof(*m));
}
