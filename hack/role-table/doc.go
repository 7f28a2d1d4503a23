// Command role-table writes the access matrix of test/e2e/roles into docs/security.md (or the file
// named), between the markers <!-- role-table:begin --> and <!-- role-table:end -->. With -verify it only
// reports whether the file is current (make verify).
package main
