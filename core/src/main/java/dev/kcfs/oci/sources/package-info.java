/**
 * Opens an image source from what a user types: a registry reference, {@code oci:DIR[:TAG]} or
 * {@code oci-archive:FILE[:TAG]}. The only package that depends on every kind of source.
 */
package dev.kcfs.oci.sources;
