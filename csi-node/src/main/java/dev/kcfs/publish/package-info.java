/**
 * What publishing a volume asks about an image, and what the node agent asks back: the questions
 * between the CSI plugin ({@code dev.kcfs.csi}) and the node agent ({@code dev.kcfs.agent}) as
 * plain interfaces, so neither package depends on the other and this one needs no gRPC. The
 * composition root ({@code dev.kcfs.node}) connects them.
 */
package dev.kcfs.publish;
