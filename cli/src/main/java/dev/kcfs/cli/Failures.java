package dev.kcfs.cli;

import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Turns exceptions into one-line messages for users. */
final class Failures {
    private Failures() {}

    /** What went wrong without the file name, for messages that already name it. */
    static String reason(Throwable e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException f) {
            return f.getReason() != null ? f.getReason() : f.getClass().getSimpleName();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    static String describe(Throwable e) {
        // NIO exceptions carry only the path in their message; say what happened
        if (e instanceof NoSuchFileException f) {
            return f.getFile() + ": no such file or directory";
        }
        if (e instanceof AccessDeniedException f) {
            return f.getFile() + ": permission denied";
        }
        if (e instanceof FileAlreadyExistsException f) {
            return f.getFile() + ": already exists";
        }
        if (e instanceof NotDirectoryException f) {
            return f.getFile() + ": not a directory";
        }
        if (e instanceof DirectoryNotEmptyException f) {
            return f.getFile() + ": directory not empty";
        }
        if (e instanceof FileSystemException f) {
            return f.getFile()
                    + ": "
                    + (f.getReason() != null ? f.getReason() : f.getClass().getSimpleName());
        }
        if ((e instanceof java.io.IOException || e.getClass().getName().startsWith("dev.kcfs."))
                && e.getMessage() != null) {
            return e.getMessage();
        }
        if (e instanceof OutOfMemoryError) {
            return "out of memory: raise the heap with JAVA_OPTS=-Xmx...";
        }
        // a bug rather than bad input: keep the type so the report is useful
        return e.toString();
    }
}
