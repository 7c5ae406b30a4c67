# Fills cells of a workbook with LibreOffice Calc itself (through UNO), as a clerk would type
# them, and saves it as .xlsx with Calc's own Excel 2007 filter. Used by LibreOfficeTests.
#
#   python3 fill_template.py SOFFICE PROFILE_URL IN.xlsx OUT.xlsx REF KIND VALUE [REF KIND VALUE ...]
#
# KIND is n (a number, typed as Calc stores numbers) or t (text). soffice runs headless with a
# private profile and a pipe of its own, so parallel runs never meet; every wait is bounded.
import os
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def main():
    soffice, profile, src, dst = sys.argv[1:5]
    rest = sys.argv[5:]
    triples = [rest[i:i + 3] for i in range(0, len(rest), 3)]
    pipe = "sti_fill_%d" % os.getpid()
    proc = subprocess.Popen([soffice, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
                             "-env:UserInstallation=" + profile, "--accept=pipe,name=%s;urp;" % pipe])
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        ctx = None
        for _ in range(240):  # at most two minutes for soffice to start
            try:
                ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
                break
            except Exception:
                if proc.poll() is not None:
                    sys.exit("soffice exited with %s before accepting" % proc.returncode)
                time.sleep(0.5)
        if ctx is None:
            sys.exit("soffice did not accept a connection within two minutes")
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(src)), "_blank", 0, (prop("Hidden", True),))
        sheet = doc.Sheets.getByIndex(0)
        for ref, kind, value in triples:
            cell = sheet.getCellRangeByName(ref)
            if kind == "n":
                cell.setValue(float(value))
            else:
                cell.setString(value)
        doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(dst)), (prop("FilterName", "Calc MS Excel 2007 XML"),))
        doc.close(True)
        try:
            desktop.terminate()
        except Exception:
            pass  # the bridge drops as soffice exits
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


main()
