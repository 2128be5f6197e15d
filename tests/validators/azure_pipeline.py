#!/usr/bin/env python3
"""Checks Azure Pipelines YAML files against the structure the Azure Pipelines YAML schema
reference documents: the keys each level may hold and those it must, the types of values, step
kinds, job and step identifiers, template expressions that name declared parameters, output
variables that name an earlier step, and, for the tasks it knows, their inputs (unknown,
missing, or outside their allowed values). A task it does not know is a problem, so that a file
never passes unchecked.

No offline validator exists for Azure Pipelines (azure-pipelines-language-service ships without
the service's schema), so this is the documented structure written down as tables.

    azure_pipeline.py FILE...     prints FILE:LINE:COL: message per problem; exit 1 if any
"""
import re
import sys

import yaml

ROOT_KEYS = {"name", "appendCommitMessageToRunName", "trigger", "pr", "schedules", "parameters",
             "variables", "pool", "stages", "jobs", "steps", "resources", "lockBehavior",
             "extends"}
FILTER_KEYS = {"include", "exclude"}
TRIGGER_KEYS = {"batch", "branches", "paths", "tags"}
PR_KEYS = {"autoCancel", "branches", "paths", "drafts"}
SCHEDULE_KEYS = {"cron", "displayName", "branches", "batch", "always"}
PARAMETER_KEYS = {"name", "displayName", "type", "default", "values"}
PARAMETER_TYPES = {"string", "number", "boolean", "object", "step", "stepList", "job", "jobList",
                   "deployment", "deploymentList", "stage", "stageList"}
STAGE_KEYS = {"stage", "displayName", "dependsOn", "condition", "variables", "jobs", "pool",
              "lockBehavior", "trigger", "isSkippable", "templateContext"}
JOB_COMMON = {"displayName", "dependsOn", "condition", "continueOnError", "timeoutInMinutes",
              "cancelTimeoutInMinutes", "variables", "pool", "container", "services",
              "workspace", "uses", "templateContext"}
JOB_KEYS = JOB_COMMON | {"job", "strategy", "steps"}
DEPLOYMENT_KEYS = JOB_COMMON | {"deployment", "environment", "strategy"}
ENVIRONMENT_KEYS = {"name", "resourceName", "resourceId", "resourceType", "tags"}
RUN_ONCE_HOOKS = {"preDeploy", "deploy", "routeTraffic", "postRouteTraffic", "on"}
HOOK_KEYS = {"pool", "steps"}
STEP_KINDS = {"task", "script", "bash", "pwsh", "powershell", "checkout", "download",
              "downloadBuild", "getPackage", "publish", "template", "reviewApp"}
STEP_COMMON = {"condition", "continueOnError", "displayName", "target", "enabled", "env",
               "name", "timeoutInMinutes", "retryCountOnTaskFailure"}
STEP_EXTRA = {
    "task": {"inputs"},
    "script": {"workingDirectory", "failOnStderr"},
    "bash": {"workingDirectory", "failOnStderr"},
    "pwsh": {"workingDirectory", "failOnStderr", "errorActionPreference", "ignoreLASTEXITCODE"},
    "powershell": {"workingDirectory", "failOnStderr", "errorActionPreference",
                   "ignoreLASTEXITCODE"},
    "checkout": {"clean", "fetchDepth", "fetchFilter", "fetchTags", "lfs", "persistCredentials",
                 "submodules", "path", "sparseCheckoutDirectories", "sparseCheckoutPatterns",
                 "workspaceRepo"},
    "download": {"artifact", "patterns"},
    "publish": {"artifact"},
}
# Inputs of the tasks kiln's pipelines use, from each task's reference page:
# {input: (required, allowed values or None)}.
TASKS = {
    "PublishTestResults@2": {
        "testResultsFormat": (True, {"JUnit", "NUnit", "VSTest", "XUnit", "CTest"}),
        "testResultsFiles": (True, None), "searchFolder": (False, None),
        "mergeTestResults": (False, {"true", "false"}),
        "failTaskOnFailedTests": (False, {"true", "false"}),
        "failTaskOnFailureToPublishResults": (False, {"true", "false"}),
        "failTaskOnMissingResultsFile": (False, {"true", "false"}),
        "testRunTitle": (False, None), "buildPlatform": (False, None),
        "buildConfiguration": (False, None), "publishRunAttachments": (False, {"true", "false"}),
    },
    "PublishPipelineArtifact@1": {
        "targetPath": (True, None), "artifact": (False, None),
        "publishLocation": (False, {"pipeline", "filepath"}), "fileSharePath": (False, None),
        "parallel": (False, {"true", "false"}), "parallelCount": (False, None),
        "properties": (False, None),
    },
    "CopyFiles@2": {
        "SourceFolder": (False, None), "Contents": (True, None), "TargetFolder": (True, None),
        "CleanTargetFolder": (False, {"true", "false"}), "OverWrite": (False, {"true", "false"}),
        "flattenFolders": (False, {"true", "false"}),
        "preserveTimestamp": (False, {"true", "false"}), "retryCount": (False, None),
        "delayBetweenRetries": (False, None), "ignoreMakeDirErrors": (False, {"true", "false"}),
    },
    "DownloadSecureFile@1": {
        "secureFile": (True, None), "retryCount": (False, None), "socketTimeout": (False, None),
    },
}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TEMPLATE_EXPRESSION = re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
OUTPUT_VARIABLE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\)")
# $(Build.X) and the like are predefined variables, not step outputs.
PREDEFINED_PREFIXES = {"Agent", "Build", "Pipeline", "Release", "System", "Environment",
                       "Resources", "Strategy", "Checks", "TF"}


class Checker:
    def __init__(self, name):
        self.name = name
        self.problems = []
        self.parameters = set()

    def problem(self, node, message):
        mark = node.start_mark
        self.problems.append(f"{self.name}:{mark.line + 1}:{mark.column + 1}: {message}")

    # --- shapes -------------------------------------------------------------------------------
    def mapping(self, node, what, allowed, required=()):
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping")
            return {}
        items = {}
        for key, value in node.value:
            if key.value not in allowed:
                self.problem(key, f"unexpected key '{key.value}' in {what}")
            if key.value in items:
                self.problem(key, f"'{key.value}' given twice in {what}")
            items[key.value] = value
        for key in required:
            if key not in items:
                self.problem(node, f"{what} lacks '{key}'")
        return items

    def sequence(self, node, what):
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what} must be a list")
            return []
        return node.value

    def scalar(self, node, what):
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"{what} must be a single value")
            return ""
        return node.value

    def scalars(self, node, what):
        return [self.scalar(item, f"an item of {what}") for item in self.sequence(node, what)]

    def identifier(self, node, what):
        value = self.scalar(node, what)
        if not IDENTIFIER.match(value):
            self.problem(node, f"{what} '{value}' must be letters, digits and '_', "
                               "not starting with a digit")

    def filters(self, node, what):
        if isinstance(node, yaml.SequenceNode):
            self.scalars(node, what)
            return
        for key, value in self.mapping(node, what, FILTER_KEYS).items():
            self.scalars(value, f"{what}.{key}")

    # --- the pipeline -------------------------------------------------------------------------
    def pipeline(self, root):
        items = self.mapping(root, "the pipeline", ROOT_KEYS)
        if "parameters" in items:
            self.parameter_list(items["parameters"])
        self.expressions(root)
        bodies = [key for key in ("stages", "jobs", "steps", "extends") if key in items]
        if len(bodies) != 1:
            self.problem(root, "the pipeline needs exactly one of stages, jobs, steps or extends")
        for key in ("trigger", "pr"):
            if key in items:
                self.trigger(items[key], key, TRIGGER_KEYS if key == "trigger" else PR_KEYS)
        if "schedules" in items:
            for schedule in self.sequence(items["schedules"], "schedules"):
                fields = self.mapping(schedule, "a schedule", SCHEDULE_KEYS, ("cron",))
                if "cron" in fields and len(self.scalar(fields["cron"], "cron").split()) != 5:
                    self.problem(fields["cron"], "cron must have 5 fields")
                if "branches" in fields:
                    self.filters(fields["branches"], "a schedule's branches")
        if "variables" in items:
            self.variables(items["variables"])
        if "pool" in items:
            self.pool(items["pool"])
        if "stages" in items:
            for stage in self.sequence(items["stages"], "stages"):
                self.stage(stage)
        if "jobs" in items:
            self.jobs(items["jobs"])
        if "steps" in items:
            self.steps(items["steps"], "the pipeline")

    def trigger(self, node, what, keys):
        if isinstance(node, yaml.ScalarNode):
            if node.value != "none":
                self.problem(node, f"{what} is 'none', a list of branches, or a mapping")
            return
        if isinstance(node, yaml.SequenceNode):
            self.scalars(node, what)
            return
        for key, value in self.mapping(node, what, keys).items():
            if key in ("branches", "paths", "tags"):
                self.filters(value, f"{what}.{key}")

    def parameter_list(self, node):
        for parameter in self.sequence(node, "parameters"):
            fields = self.mapping(parameter, "a parameter", PARAMETER_KEYS, ("name",))
            if "name" in fields:
                self.identifier(fields["name"], "a parameter's name")
                self.parameters.add(fields["name"].value)
            kind = self.scalar(fields["type"], "type") if "type" in fields else "string"
            if kind not in PARAMETER_TYPES:
                self.problem(fields["type"], f"unknown parameter type '{kind}'")
            if "values" in fields:
                values = self.scalars(fields["values"], "values")
                if "default" in fields and fields["default"].value not in values:
                    self.problem(fields["default"], "the default is not one of the values")
                if not values:
                    self.problem(fields["values"], "values is empty")

    def expressions(self, node):
        """Every ${{ parameters.X }} names a declared parameter."""
        if isinstance(node, yaml.ScalarNode):
            for match in TEMPLATE_EXPRESSION.finditer(node.value):
                if match.group(1) not in self.parameters:
                    self.problem(node, f"parameters.{match.group(1)} is not declared")
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self.expressions(item)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.expressions(key)
                self.expressions(value)

    def variables(self, node):
        if isinstance(node, yaml.MappingNode):
            return
        for item in self.sequence(node, "variables"):
            if isinstance(item, yaml.MappingNode) and any(k.value == "group" for k, _ in item.value):
                self.mapping(item, "a variable group", {"group"}, ("group",))
            elif isinstance(item, yaml.MappingNode) and any(k.value == "template"
                                                            for k, _ in item.value):
                self.mapping(item, "a variable template", {"template", "parameters"})
            else:
                self.mapping(item, "a variable", {"name", "value", "readonly"}, ("name", "value"))

    def pool(self, node):
        if isinstance(node, yaml.ScalarNode):
            return
        fields = self.mapping(node, "pool", {"name", "demands", "vmImage"})
        if not fields:
            self.problem(node, "pool needs a name or a vmImage")

    def stage(self, node):
        fields = self.mapping(node, "a stage", STAGE_KEYS, ("stage", "jobs"))
        if "stage" in fields:
            self.identifier(fields["stage"], "a stage's name")
        if "variables" in fields:
            self.variables(fields["variables"])
        if "pool" in fields:
            self.pool(fields["pool"])
        if "jobs" in fields:
            self.jobs(fields["jobs"])

    def jobs(self, node):
        for job in self.sequence(node, "jobs"):
            keys = {key.value for key, _ in job.value} if isinstance(job, yaml.MappingNode) else set()
            if "deployment" in keys:
                self.deployment(job)
            elif "job" in keys:
                fields = self.mapping(job, "a job", JOB_KEYS, ("job", "steps"))
                self.identifier(fields["job"], "a job's name")
                self.job_fields(fields)
                if "steps" in fields:
                    self.steps(fields["steps"], "a job")
            else:
                self.problem(job, "a job needs 'job' or 'deployment'")

    def job_fields(self, fields):
        if "timeoutInMinutes" in fields:
            if not self.scalar(fields["timeoutInMinutes"], "timeoutInMinutes").isdigit():
                self.problem(fields["timeoutInMinutes"], "timeoutInMinutes must be a number")
        if "pool" in fields:
            self.pool(fields["pool"])
        if "variables" in fields:
            self.variables(fields["variables"])

    def deployment(self, node):
        fields = self.mapping(node, "a deployment job", DEPLOYMENT_KEYS,
                              ("deployment", "environment", "strategy"))
        if "deployment" in fields:
            self.identifier(fields["deployment"], "a deployment's name")
        self.job_fields(fields)
        if "environment" in fields and not isinstance(fields["environment"], yaml.ScalarNode):
            self.mapping(fields["environment"], "environment", ENVIRONMENT_KEYS, ("name",))
        if "strategy" not in fields:
            return
        strategy = self.mapping(fields["strategy"], "strategy", {"runOnce", "rolling", "canary"})
        if len(strategy) != 1:
            self.problem(fields["strategy"], "strategy needs exactly one of runOnce, rolling, canary")
        for name, body in strategy.items():
            hooks = self.mapping(body, name, RUN_ONCE_HOOKS | {"maxParallel", "increments"})
            if "deploy" not in hooks:
                self.problem(body, f"{name} lacks 'deploy'")
            for hook, value in hooks.items():
                if hook in ("maxParallel", "increments", "on"):
                    continue
                steps = self.mapping(value, hook, HOOK_KEYS, ("steps",))
                if "steps" in steps:
                    self.steps(steps["steps"], f"{name}.{hook}")

    # --- steps --------------------------------------------------------------------------------
    def steps(self, node, where):
        names = set()
        for step in self.sequence(node, f"{where}'s steps"):
            if not isinstance(step, yaml.MappingNode):
                self.problem(step, "a step must be a mapping")
                continue
            kinds = [key.value for key, _ in step.value if key.value in STEP_KINDS]
            if len(kinds) != 1:
                self.problem(step, "a step needs exactly one of " + ", ".join(sorted(STEP_KINDS)))
                continue
            kind = kinds[0]
            fields = self.mapping(step, f"a {kind} step", STEP_COMMON | STEP_EXTRA.get(kind, set())
                                  | {kind})
            self.output_variables(step, names)
            if "name" in fields:
                self.identifier(fields["name"], "a step's name")
                names.add(fields["name"].value)
            if "env" in fields:
                if isinstance(fields["env"], yaml.MappingNode):
                    for key, value in fields["env"].value:
                        self.scalar(value, f"env {key.value}")
                else:
                    self.problem(fields["env"], "env must be a mapping")
            if "condition" in fields:
                self.condition(fields["condition"])
            if kind == "task":
                self.task(fields)
            elif kind == "checkout":
                value = self.scalar(fields["checkout"], "checkout")
                if value != "self" and value != "none" and not IDENTIFIER.match(value):
                    self.problem(fields["checkout"], "checkout is self, none or a repository")
                if "fetchDepth" in fields and not fields["fetchDepth"].value.isdigit():
                    self.problem(fields["fetchDepth"], "fetchDepth must be a number")
            elif kind in ("script", "bash", "pwsh", "powershell"):
                if not self.scalar(fields[kind], kind).strip():
                    self.problem(fields[kind], f"the {kind} is empty")

    def output_variables(self, step, names):
        """$(step.variable) names a step of this job that comes before."""
        for node in walk(step):
            for match in OUTPUT_VARIABLE.finditer(node.value):
                step_name = match.group(1)
                if step_name not in PREDEFINED_PREFIXES and step_name not in names:
                    self.problem(node, f"$({match.group(0)[2:-1]}) names no earlier step "
                                       f"'{step_name}'")

    def condition(self, node):
        text = self.scalar(node, "condition")
        depth = 0
        for char in text:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                break
        if depth != 0:
            self.problem(node, "the condition's parentheses do not match")

    def task(self, fields):
        name = self.scalar(fields["task"], "task")
        if not re.match(r"^[A-Za-z][A-Za-z0-9.]*@[0-9]+$", name):
            self.problem(fields["task"], f"task '{name}' must be NAME@MAJOR")
            return
        if name not in TASKS:
            self.problem(fields["task"], f"task '{name}' is not one this checker knows")
            return
        known = TASKS[name]
        inputs = self.mapping(fields["inputs"], f"{name}'s inputs", set(known)) \
            if "inputs" in fields else {}
        for key, (required, allowed) in known.items():
            if required and key not in inputs:
                where = fields["inputs"] if "inputs" in fields else fields["task"]
                self.problem(where, f"{name} needs the input '{key}'")
            if key in inputs and allowed is not None:
                value = self.scalar(inputs[key], key)
                if value not in allowed:
                    self.problem(inputs[key], f"{name}'s {key} is one of "
                                              f"{', '.join(sorted(allowed))}, not '{value}'")


def walk(node):
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from walk(item)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from walk(value)


def check(name):
    checker = Checker(name)
    with open(name, encoding="utf-8") as file:
        try:
            root = yaml.compose(file)
        except yaml.YAMLError as error:
            return [f"{name}: not YAML: {error}"]
    if root is None:
        return [f"{name}: empty"]
    checker.pipeline(root)
    return checker.problems


def main():
    problems = 0
    for name in sys.argv[1:]:
        found = check(name)
        for line in found:
            print(line)
        if not found:
            print(f"{name}: valid")
        problems += len(found)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
