# dropship's bootstrap for Octopus Python scripts.
#
# Written for dropship from docs/octopus-conventions.md §5.6 (not Calamari's code): the same
# globals a Calamari Python script sees (octopusvariables, get_octopusvariable, set_octopusvariable,
# createartifact, updateprogress, failstep, printverbose, printhighlight, printwait,
# printwarning, encode, decode), then the script run with runpy as __main__.
# The variables come from the JSON file named by our only argument, a 0600 file in a private
# directory; sys.argv is replaced by [this file, script parameters...] before the script runs, so
# Calamari's trailing key argument is absent.
import base64
import json
import os
import runpy
import sys


def encode(value):
    return base64.b64encode(str(value).encode("utf-8")).decode("ascii")


def decode(value):
    return base64.b64decode(value).decode("utf-8")


def get_octopusvariable(key):
    return octopusvariables.get(key, "")


def set_octopusvariable(name, value, sensitive=False):
    octopusvariables[name] = value
    message = "##octopus[setVariable name='{}' value='{}'".format(encode(name), encode(value))
    if sensitive:
        message += " sensitive='{}'".format(encode("True"))
    print(message + "]", flush=True)


def createartifact(path, fileName=None):
    if fileName is None:
        fileName = os.path.basename(path)
    path = os.path.abspath(path)
    length = str(os.stat(path).st_size) if os.path.isfile(path) else "0"
    print("##octopus[createArtifact path='{}' name='{}' length='{}']".format(
        encode(path), encode(fileName), encode(length)), flush=True)


def updateprogress(progress, message=None):
    # Calamari raises AttributeError without a message; dropship sends an empty one.
    print("##octopus[progress percentage='{}' message='{}']".format(
        encode(progress), encode(message or "")), flush=True)


def failstep(message=None):
    if message is not None:
        print("##octopus[resultMessage message='{}']".format(encode(message)), flush=True)
    sys.exit(-1)


def __dropship_write(level, message):
    print("##octopus[{}]\n{}\n##octopus[stdout-default]".format(level, message), flush=True)


def printverbose(message):
    __dropship_write("stdout-verbose", message)


def printhighlight(message):
    __dropship_write("stdout-highlight", message)


def printwait(message):
    __dropship_write("stdout-wait", message)


def printwarning(message):
    __dropship_write("stdout-warning", message)


def __dropship_main():
    with open(sys.argv[1], encoding="utf-8") as config_file:
        config = json.load(config_file)
    # The values now live in memory only (the installer deletes the directory afterwards too).
    try:
        os.remove(sys.argv[1])
    except OSError:
        pass
    octopusvariables.update((name, value) for name, value in config["variables"])
    printverbose(sys.version)
    script = config["script"]
    sys.argv = [sys.argv[0]] + config["arguments"]
    # Calamari's scripts also see the configure file's imports (os, sys, base64): keep them.
    helpers = {name: value for name, value in globals().items() if not name.startswith("__")}
    runpy.run_path(script, init_globals=helpers, run_name="__main__")


octopusvariables = {}
__dropship_main()
