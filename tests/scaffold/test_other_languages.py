"""The C#, Java and C module templates: what can be checked without their SDKs.

Neither dotnet nor Maven Central nor the device SDKs are reachable here, so: every JSON file
parses, module.json is exactly the contract, the project files are well-formed XML naming the
right SDK, the Dockerfiles take ``BASE_IMAGE`` and agree with the project files, and the pure
filter logic of C (gcc, and CTest when cmake exists) and Java (javac + a driver) is compiled and
run. The C module itself builds against a real azure-iot-sdk-c tree when
``EDGECTL_AZURE_IOT_SDK_C_DIR`` names one (sources with submodules). The golden trees and the
"generate + validate is clean" checks for these languages are in test_golden / test_solutions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from iotedge_cli.scaffold.plan import BASE_IMAGES, PLATFORMS, SDK_VERSIONS
from tests.scaffold.helpers import MODULE, scaffold

OTHER = ("csharp", "java", "c")
POM = "{http://maven.apache.org/POM/4.0.0}"
SDK_C_DIR = os.environ.get("EDGECTL_AZURE_IOT_SDK_C_DIR", "")


def tool(name: str, *, on_ci: bool = True) -> str:
    """The path of ``name``; skip when absent (fail on CI for the tools its machine has)."""
    path = shutil.which(name)
    if path is None:
        if on_ci and os.environ.get("CI"):
            pytest.fail(f"{name} is required on CI")
        pytest.skip(f"{name} is not installed")
    return path


def module_dir(tmp_path: Path, language: str, name: str = MODULE) -> Path:
    return scaffold(tmp_path, language, module=name) / "modules" / name


def run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


@pytest.mark.parametrize("language", OTHER)
def test_module_json_is_the_contract_and_every_json_parses(tmp_path: Path, language: str) -> None:
    module = module_dir(tmp_path, language)
    for path in module.rglob("*.json"):
        json.loads(path.read_text("utf-8"))
    assert json.loads((module / "module.json").read_text("utf-8")) == {
        "$schema-version": "0.0.1",
        "description": "",
        "image": {
            "repository": "localhost:5000/filtermodule",
            "tag": {
                "version": "0.0.1",
                "platforms": {p: f"./Dockerfile.{p}" for p in PLATFORMS},
            },
            "buildOptions": [],
            "contextPath": "./",
        },
        "language": language,
    }


@pytest.mark.parametrize("language", OTHER)
def test_dockerfiles_take_the_base_image_as_an_argument(tmp_path: Path, language: str) -> None:
    module = module_dir(tmp_path, language)
    images = BASE_IMAGES[language]
    for platform in PLATFORMS:
        lines = (module / f"Dockerfile.{platform}").read_text("utf-8").splitlines()
        assert lines[0] == f"ARG BASE_IMAGE={images[platform]}", platform
        froms = [line for line in lines if line.startswith("FROM ")]
        assert froms[-1] == "FROM ${BASE_IMAGE}", platform  # the image that runs
        before = lines[: lines.index(froms[0])]
        if "build" in images:  # multi-stage: the build image is an argument too
            assert f"ARG BUILD_IMAGE={images['build']}" in before, platform
            assert froms[0] == "FROM ${BUILD_IMAGE} AS build", platform
        assert "USER moduleuser" in lines, f"{platform}: the module must not run as root"


def test_csharp_project_and_dockerfile_agree(tmp_path: Path) -> None:
    module = module_dir(tmp_path, "csharp", "my-module")
    project = ET.parse(module / "my-module.csproj").getroot()
    assert project.findtext("PropertyGroup/TargetFramework") == "net8.0"
    assert project.findtext("PropertyGroup/RootNamespace") == "MyModule"
    assert project.findtext("PropertyGroup/AssemblyName") == "my-module"
    refs = {r.get("Include"): r.get("Version", "") for r in project.iter("PackageReference")}
    assert refs["Microsoft.Azure.Devices.Client"].startswith(SDK_VERSIONS["csharp"] + ".")
    removed = [c.get("Remove") for c in project.iter("Compile")]
    assert "tests/**" in removed, "the module project must not compile the test project"

    tests = module / "tests" / "my-module.Tests"
    test_project = ET.parse(tests / "my-module.Tests.csproj").getroot()
    test_refs = {r.get("Include") for r in test_project.iter("PackageReference")}
    assert {"xunit", "Microsoft.NET.Test.Sdk", "xunit.runner.visualstudio"} <= test_refs
    [reference] = [r.get("Include") for r in test_project.iter("ProjectReference")]
    assert (tests / str(reference)).resolve() == (module / "my-module.csproj").resolve()

    for platform in PLATFORMS:
        text = (module / f"Dockerfile.{platform}").read_text("utf-8")
        assert 'ENTRYPOINT ["dotnet", "my-module.dll"]' in text
        assert "dotnet publish my-module.csproj" in text
    source = (module / "Program.cs").read_text("utf-8") + (
        module / "TemperatureFilter.cs"
    ).read_text()
    assert "namespace MyModule" in source
    for api in (
        "ModuleClient.CreateFromEnvironmentAsync(settings)",
        "TransportType.Mqtt_Tcp_Only",
        "SetInputMessageHandlerAsync(InputName, OnInput1, client, token)",
        "SetDesiredPropertyUpdateCallbackAsync(OnDesiredPropertiesUpdate, client, token)",
        'SetMethodHandlerAsync("reset", OnReset, client, token)',
        "SendEventAsync(OutputName, forwarded)",
        "UpdateReportedPropertiesAsync(reported, token)",
        "AssemblyLoadContext.Default.Unloading",
        '"TemperatureThreshold"',
    ):
        assert api in source, api


def test_java_pom_and_dockerfile_agree(tmp_path: Path) -> None:
    module = module_dir(tmp_path, "java")
    pom = ET.parse(module / "pom.xml").getroot()
    assert pom.findtext(f"{POM}artifactId") == "filtermodule"
    properties = pom.find(f"{POM}properties")
    assert properties is not None
    assert properties.findtext(f"{POM}maven.compiler.release") == "17"
    deps = {
        d.findtext(f"{POM}artifactId"): d.findtext(f"{POM}version") or ""
        for d in pom.iter(f"{POM}dependency")
    }
    version = deps["iot-device-client"].replace(
        "${iot-device-client.version}", properties.findtext(f"{POM}iot-device-client.version") or ""
    )
    assert version == SDK_VERSIONS["java"] and version.startswith("2.")
    assert "junit-jupiter" in deps and "gson" in deps
    shade = [
        p
        for p in pom.iter(f"{POM}plugin")
        if p.findtext(f"{POM}artifactId") == "maven-shade-plugin"
    ]
    assert len(shade) == 1
    assert shade[0].findtext(f".//{POM}mainClass") == "com.edgemodule.App"
    jar = shade[0].findtext(f".//{POM}finalName")
    assert jar == "filtermodule-with-deps"
    for platform in PLATFORMS:
        text = (module / f"Dockerfile.{platform}").read_text("utf-8")
        assert f"COPY --from=build /src/target/{jar}.jar ./app.jar" in text
    app = (module / "src/main/java/com/edgemodule/App.java").read_text("utf-8")
    for api in (
        "ModuleClient.createFromEnvironment(new UnixSocketChannel(), IotHubClientProtocol.MQTT)",
        "client.setMessageCallback(INPUT_NAME,",
        "client.subscribeToDesiredProperties(",
        "client.subscribeToMethods(",
        "client.sendEventAsync(forwarded,",
        "Runtime.getRuntime().addShutdownHook(",
    ):
        assert api in app, api


JAVA_DRIVER = """\
package com.edgemodule;

public final class Driver
{
    static void check(boolean condition, String what)
    {
        if (!condition)
        {
            throw new AssertionError(what);
        }
    }

    public static void main(String[] args) throws Exception
    {
        TemperatureFilter filter = new TemperatureFilter();
        check(filter.getThreshold() == TemperatureFilter.DEFAULT_THRESHOLD, "default threshold");
        check(!filter.applyThreshold("high") && !filter.applyThreshold(null), "non-numbers ignored");
        check(!filter.applyThreshold(Double.NaN), "NaN ignored");
        check(filter.applyThreshold(30), "integer threshold from the twin");
        check(filter.shouldForward(30.5), "above forwards");
        check(!filter.shouldForward(30.0), "equal drops");
        check(!filter.shouldForward(null), "no temperature drops");
        check(filter.getReceived() == 3 && filter.getForwarded() == 1, "counters");
        check(filter.reported().toString().equals(
            "{TemperatureThreshold=30.0, messagesReceived=3, messagesForwarded=1}"), "reported");
        filter.reset();
        check(filter.getReceived() == 0 && filter.getForwarded() == 0, "reset");

        UnixSocketChannel channel = new UnixSocketChannel();
        channel.open(args[0]);
        channel.write("ping".getBytes("UTF-8"));
        byte[] buffer = new byte[64];
        int n = channel.read(buffer);
        channel.close();
        System.out.println(new String(buffer, 0, n, "UTF-8"));
    }
}
"""

# The SDK's interface (com.microsoft.azure.sdk.iot.device.hsm.UnixDomainSocketChannel, 2.x), so
# that our implementation compiles against the same method signatures without the SDK jar.
SDK_INTERFACE = """\
package com.microsoft.azure.sdk.iot.device.hsm;

public interface UnixDomainSocketChannel
{
    void open(String address) throws java.io.IOException;
    void write(byte[] output) throws java.io.IOException;
    int read(byte[] inputBuffer) throws java.io.IOException;
    void close() throws java.io.IOException;
}
"""


def test_java_filter_and_unix_socket_channel_run(tmp_path: Path) -> None:
    javac, java = tool("javac"), tool("java")
    module = module_dir(tmp_path, "java")
    src = tmp_path / "src"
    package = src / "com" / "edgemodule"
    package.mkdir(parents=True)
    for name in ("TemperatureFilter.java", "UnixSocketChannel.java"):
        shutil.copy(module / "src/main/java/com/edgemodule" / name, package / name)
    (package / "Driver.java").write_text(JAVA_DRIVER)
    stub = src / "com/microsoft/azure/sdk/iot/device/hsm/UnixDomainSocketChannel.java"
    stub.parent.mkdir(parents=True)
    stub.write_text(SDK_INTERFACE)
    out = tmp_path / "classes"
    run(
        [
            javac,
            "-Xlint:all",
            "-Werror",
            "--release",
            "17",
            "-d",
            str(out),
            *map(str, src.rglob("*.java")),
        ],
        tmp_path,
    )

    address = tmp_path / "workload.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(address))
    server.listen(1)
    server.settimeout(60)

    def answer() -> None:
        with server, server.accept()[0] as conn:
            conn.sendall(b"pong:" + conn.recv(64))

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    done = run([java, "-cp", str(out), "com.edgemodule.Driver", str(address)], tmp_path)
    thread.join(10)
    assert done.stdout.strip() == "pong:ping"


def test_c_filter_compiles_cleanly_and_its_test_passes(tmp_path: Path) -> None:
    gcc = tool("gcc")
    module = module_dir(tmp_path, "c")
    strict = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"]
    run([gcc, *strict, "-fsyntax-only", "filter.c"], module)
    binary = tmp_path / "test_filter"
    run([gcc, *strict, "-o", str(binary), "filter.c", "test_filter.c", "-lm"], module)
    assert run([str(binary)], module).stdout == "filter tests passed\n"


def test_c_filter_test_runs_under_ctest_without_the_sdk(tmp_path: Path) -> None:
    cmake, ctest = tool("cmake", on_ci=False), tool("ctest", on_ci=False)
    module = module_dir(tmp_path, "c")
    build = tmp_path / "build"
    run([cmake, "-S", str(module), "-B", str(build), "-DBUILD_MODULE=OFF"], tmp_path)
    run([cmake, "--build", str(build)], tmp_path)
    done = run([ctest, "--output-on-failure"], build)
    assert "100% tests passed" in done.stdout


@pytest.mark.skipif(
    not SDK_C_DIR, reason="set EDGECTL_AZURE_IOT_SDK_C_DIR to an azure-iot-sdk-c tree"
)
def test_c_module_builds_against_the_sdk(tmp_path: Path) -> None:
    cmake = tool("cmake", on_ci=False)
    module = module_dir(tmp_path, "c")
    build = tmp_path / "build"
    run(
        [cmake, "-S", str(module), "-B", str(build), f"-DAZURE_IOT_SDK_C_DIR={SDK_C_DIR}"],
        tmp_path,
        600,
    )
    run([cmake, "--build", str(build), "--target", "main", "--parallel"], tmp_path, 1200)
    assert (build / "main").is_file()


def test_c_sources_name_the_sdk_api(tmp_path: Path) -> None:
    module = module_dir(tmp_path, "c")
    main = (module / "main.c").read_text("utf-8")
    for api in (
        "IoTHubModuleClient_LL_CreateFromEnvironment(MQTT_Protocol)",
        "IoTHubModuleClient_LL_SetInputMessageCallback(client, INPUT_NAME, on_input1, client)",
        "IoTHubModuleClient_LL_SetModuleTwinCallback(client, on_twin, client)",
        "IoTHubModuleClient_LL_SetModuleMethodCallback(client, on_method, client)",
        "IoTHubModuleClient_LL_SendEventToOutputAsync(",
        "IoTHubModuleClient_LL_SendReportedState(",
        "json_object_dotget_value(",
        "signal(SIGTERM, on_signal)",
    ):
        assert api in main, api
    cmake = (module / "CMakeLists.txt").read_text("utf-8")
    assert re.search(r"^project\(filter_module C\)$", cmake, re.M)
    assert "add_test(NAME filter COMMAND test_filter)" in cmake
