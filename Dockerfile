# atsrecon container image: a Debian stage runs ./build.sh (the same pinned
# sources and checks as everywhere), then the static binary goes into an image
# FROM scratch with the CA bundle, an empty /tmp and a non-root numeric user.
#
#   docker build -t atsrecon .
#   docker run --rm -v /srv/atsrecon:/var/lib/atsrecon -v $PWD/tenant.jsonc:/etc/atsrecon.jsonc:ro \
#       atsrecon run -c /etc/atsrecon.jsonc
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gcc make musl-tools dpkg-dev patch \
      python3 openssl file strace util-linux xz-utils bzip2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN ./build.sh \
 && mkdir -p /out/tmp /out/etc/ssl/certs /out/var/lib/atsrecon \
 && cp atsrecon /out/atsrecon \
 && cp build/ca-bundle.pem /out/etc/ssl/certs/ca-certificates.crt \
 && chmod 1777 /out/tmp \
 && chown 65532:65532 /out/var/lib/atsrecon

FROM scratch
COPY --from=build /out/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
VOLUME ["/var/lib/atsrecon"]
ENTRYPOINT ["/atsrecon"]
CMD ["run", "-c", "/etc/atsrecon.jsonc"]
