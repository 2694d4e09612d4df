/*
 * ca_embed.S — the CA bundle built into the binary (Debian's ca-certificates,
 * every Mozilla root), used when neither http.ca_file nor $SSL_CERT_FILE is
 * set. CA_BUNDLE is the path of the PEM file, given by the Makefile.
 */
	.section .rodata.ca_bundle,"a"
	.global ca_bundle_pem
	.global ca_bundle_pem_end
ca_bundle_pem:
	.incbin CA_BUNDLE
ca_bundle_pem_end:
	.byte 0
	.section .note.GNU-stack,"",@progbits
