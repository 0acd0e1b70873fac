/**
 * The Docker image names, in one place: the app image that every role runs
 * (docker/Dockerfile), the base it is built on, and the offline base that
 * docker/base-image.sh builds where no registry can be reached.
 */

/** package.json's "version"; test/unit/docker-preflight.test.ts checks that they agree. */
export const IMAGE_VERSION = '0.1.0'

/** The app image: `npm run docker:build` tags it so. */
export const IMAGE_DEFAULT = 'patchday:' + IMAGE_VERSION

/** What docker/Dockerfile builds FROM unless PATCHDAY_BASE_IMAGE says otherwise (needs a registry). */
export const BASE_IMAGE_DEFAULT = 'node:22-bookworm-slim'

/** Built by `npm run docker:base` (docker/base-image.sh) from the project's own Node 22, without a registry. */
export const OFFLINE_BASE_IMAGE = 'patchday/node-base:22'

/** The label docker/Dockerfile sets on the app image. */
export const IMAGE_TITLE = 'patchday'
