# make install PREFIX=... [DESTDIR=...]: the compiler, libdsprt (static and
# shared), its headers, a pkg-config file and the man page.

INSTALL ?= install

.PHONY: install uninstall
install: all
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/dsp $(DESTDIR)$(PREFIX)/share/man/man1
	$(INSTALL) -m 755 $(BUILD)/dspcc $(DESTDIR)$(PREFIX)/bin/dspcc
	$(INSTALL) -m 644 $(RT_LIB) $(DESTDIR)$(PREFIX)/lib/libdsprt.a
	$(INSTALL) -m 755 $(RT_SHLIB) $(DESTDIR)$(PREFIX)/lib/libdsprt.so.0
	ln -sf libdsprt.so.0 $(DESTDIR)$(PREFIX)/lib/libdsprt.so
	$(INSTALL) -m 644 runtime/include/dsp/*.h $(DESTDIR)$(PREFIX)/include/dsp/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' runtime/dsprt.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/dsprt.pc
	$(INSTALL) -m 644 docs/dspcc.1 $(DESTDIR)$(PREFIX)/share/man/man1/dspcc.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/dspcc $(DESTDIR)$(PREFIX)/lib/libdsprt.a \
	    $(DESTDIR)$(PREFIX)/lib/libdsprt.so $(DESTDIR)$(PREFIX)/lib/libdsprt.so.0 \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/dsprt.pc $(DESTDIR)$(PREFIX)/share/man/man1/dspcc.1
	rm -rf $(DESTDIR)$(PREFIX)/include/dsp
