// Command role-table writes the access matrix of test/e2e/roles into README.md, between the markers
// <!-- role-table:begin --> and <!-- role-table:end -->. With -verify it only reports whether the README
// is current (make verify).
package main
