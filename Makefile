# make             build the release binary (scripts/build.sh; never as root in your tree)
# make install     install it system-wide (scripts/install.sh --system): PREFIX, DESTDIR
# make install-user  the program and the user units for you (or for $SUDO_USER)
# make uninstall / make uninstall-user
# make check       the test suite (scripts/test); make check-systemd: under a real systemd
.POSIX:
.PHONY: all build install install-user uninstall uninstall-user man check check-systemd

all: build

build:
	scripts/build.sh

install:
	scripts/install.sh --system

install-user:
	scripts/install.sh --user

uninstall:
	scripts/install.sh --system --uninstall

uninstall-user:
	scripts/install.sh --user --uninstall

man:
	scripts/gen-man

check:
	scripts/test

check-systemd:
	scripts/test-systemd
