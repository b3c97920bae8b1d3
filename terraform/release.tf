# The released Lambda package this copy of the module deploys with package_source = "release".
# scripts/release.ts writes this file, with the version and the SHA-256 of that release's
# bootstrap.zip, into the module archive it publishes (idpscim-terraform-<version>.tar.gz). In a
# git checkout sha256 is null: no package is pinned, and package_source = "release" then needs
# package_release_version and package_release_sha256 (or use the release's module archive).

locals {
  release = {
    version = "0.1.0"
    sha256  = null
  }
}
