/* SPDX-License-Identifier: Apache-2.0 */
/*
 * S3 credentials, in this order: AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN) from the environment;
 * then AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile
 * AWS_PROFILE (default "default"); then --s3-credentials=FILE, same format
 * and profile; or none at all with --s3-anonymous.
 *
 * Secrets are never logged; where they came from is.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3_internal.h"

static void
free_secret(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

void
s3_creds_clear(struct s3_creds *c)
{
	free_secret(&c->access_key);
	free_secret(&c->secret_key);
	free_secret(&c->session_token);
}

/* The access key id, for the log (never the secret). */
const char *
s3_access_key_id(const struct s3_store *s)
{
	return s->creds.access_key != NULL ? s->creds.access_key :
	    "(none: anonymous)";
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int
set_field(char **field, const char *value)
{
	free_secret(field);
	return (*field = strdup(value)) != NULL ? 0 : -ENOMEM;
}

/* The profile's keys from an AWS credentials (INI) file. */
static int
creds_from_file(struct s3_creds *c, const char *path, const char *profile)
{
	char line[1024], *l;
	bool in_profile = false;
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (f == NULL)
		return -errno;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *eq;

		l = trim(line);
		if (*l == '#' || *l == ';' || *l == '\0')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');

			if (end != NULL)
				*end = '\0';
			l = trim(l + 1);
			if (strncmp(l, "profile ", 8) == 0)
				l = trim(l + 8);
			in_profile = strcmp(l, profile) == 0;
			continue;
		}
		if (!in_profile || (eq = strchr(l, '=')) == NULL)
			continue;
		*eq = '\0';
		if (strcmp(trim(l), "aws_access_key_id") == 0)
			rc = set_field(&c->access_key, trim(eq + 1));
		else if (strcmp(trim(l), "aws_secret_access_key") == 0)
			rc = set_field(&c->secret_key, trim(eq + 1));
		else if (strcmp(trim(l), "aws_session_token") == 0)
			rc = set_field(&c->session_token, trim(eq + 1));
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	if (rc == 0 && (c->access_key == NULL || c->secret_key == NULL)) {
		s3_creds_clear(c);
		rc = -ENOENT;
	}
	return rc;
}

static int
creds_from_env(struct s3_creds *c)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID");
	const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN");
	int rc;

	if (ak == NULL || sk == NULL || *ak == '\0' || *sk == '\0')
		return -ENOENT;
	rc = set_field(&c->access_key, ak);
	if (rc == 0)
		rc = set_field(&c->secret_key, sk);
	if (rc == 0 && tok != NULL && *tok != '\0')
		rc = set_field(&c->session_token, tok);
	if (rc != 0)
		s3_creds_clear(c);
	return rc;
}

static char *
shared_credentials_path(void)
{
	const char *env = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *home = getenv("HOME");
	char *path;

	if (env != NULL && *env != '\0')
		return strdup(env);
	if (home == NULL || asprintf(&path, "%s/.aws/credentials", home) == -1)
		return NULL;
	return path;
}

int
s3_creds_load(struct s3_creds *c, const char *file, bool anonymous)
{
	const char *profile = getenv("AWS_PROFILE");
	char *shared;
	int rc;

	memset(c, 0, sizeof(*c));
	if (anonymous) {
		c->source = "none (anonymous)";
		return 0;
	}
	if (profile == NULL || *profile == '\0')
		profile = "default";
	if (creds_from_env(c) == 0) {
		c->source = "the environment";
		return 0;
	}
	if ((shared = shared_credentials_path()) != NULL) {
		rc = creds_from_file(c, shared, profile);
		free(shared);
		if (rc == 0) {
			c->source = "the shared credentials file";
			return 0;
		}
	}
	if (file != NULL) {
		if ((rc = creds_from_file(c, file, profile)) != 0) {
			log_warnx("s3: no profile \"%s\" with keys in %s",
			    profile, file);
			return rc;
		}
		c->source = file;
		return 0;
	}
	log_warnx("s3: no credentials: set AWS_ACCESS_KEY_ID and "
	    "AWS_SECRET_ACCESS_KEY, write ~/.aws/credentials, pass "
	    "--s3-credentials=FILE, or use --s3-anonymous");
	return -ENOKEY;
}
