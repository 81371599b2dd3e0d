/**
 * Opens an image source from what a user types: a registry reference, {@code oci:DIR[:TAG]} or
 * {@code oci-archive:FILE[:TAG]}. The only package that depends on every kind of source.
 *
 * <p>Depends on {@code dev.kcfs.oci}, {@code dev.kcfs.oci.registry} and {@code
 * dev.kcfs.oci.layout}; nothing in those depends on it. Used by {@code dev.kcfs.pull} and the CLI.
 */
package dev.kcfs.oci.sources;
