// The four pipeline files `kiln pipeline init` writes, as templates. @NAME@ is replaced by
// ci/pipelines.cpp with a value it has checked to be a plain YAML word (no quoting needed).
#include "ci/pipelines.hpp"

namespace kiln::ci::templates {

// The first step of every job: the agent's kiln must be the one the file was written for.
// A block: ci/pipelines.cpp indents its lines to where @CHECK_VERSION@ stands.
const char* const kAzureVersionCheck = R"yaml(- script: |
    set -eu
    installed="$(kiln --version)"
    if [ "$installed" != "$(KILN_VERSION)" ]; then
      echo "##vso[task.logissue type=error]this pipeline is for kiln $(KILN_VERSION); the agent has kiln $installed"
      exit 1
    fi
  displayName: Check the kiln version)yaml";

const char* const kGithubVersionCheck = R"yaml(- name: Check the kiln version
  run: |
    installed="$(kiln --version)"
    if [ "$installed" != "$KILN_VERSION" ]; then
      echo "::error::this workflow is for kiln $KILN_VERSION; the runner has kiln $installed"
      exit 1
    fi)yaml";

// What the build pipelines do, their first lines.
const char* const kAboutBuild =
    R"yaml(# Builds, tests and publishes the images of this repository on every push and pull request.
# `kiln ci` does what kiln.yaml's branch policy says for the ref (`kiln ci --show-policy`);
# with the default policy:
#   any branch, pull request   validate, build, test; nothing published
#   main                       publish X.Y.Z-dev.N+gSHA, move channel dev
#   release/*                  publish X.Y.Z-rc.N+gSHA, move channel staging
#   tag vX.Y.Z, NAME/vX.Y.Z    publish the release X.Y.Z
# An image whose definition, files and base are those of its last published version
# is not rebuilt.)yaml";

const char* const kAzureBuild =
    R"yaml(@ABOUT_BUILD@
#
# Written by `kiln pipeline init --azure` (kiln @KILN_VERSION@). It is yours to edit;
# `kiln pipeline init --azure --force` writes it again.
#
# Set up once, in the Azure DevOps project:
#   - Agent pool "@AGENTS@": self-hosted Debian 12 agents with kiln @KILN_VERSION@ installed.
#     A bake needs root (namespaces, mounts, chroot): run the agent as root.
#   - Variable group "kiln-store" (Pipelines > Library): the store's credentials,
#     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (mark it secret). Agents in AWS with an
#     instance role need neither (kiln asks the instance metadata service): then delete the two
#     env lines of the kiln ci step. The store itself is kiln.yaml's `store:`.
#   - Secure file "kiln-release.key" (Pipelines > Library > Secure files): the private key that
#     signs what is published (`kiln key generate`); kiln.yaml's signing.public_key checks it.
#   - Azure Repos: pull requests are built through a build validation branch policy on main;
#     the pr: section below applies to GitHub and Bitbucket repositories.

trigger:
  branches:
    include: ['*']
  tags:
    include: ['*']

pr:
  branches:
    include: ['*']

variables:
  - group: kiln-store
  # The kiln these pipelines were written for; the first step fails on any other.
  - name: KILN_VERSION
    value: '@KILN_VERSION@'

pool:
  name: @AGENTS@

stages:
  - stage: images
    displayName: Build, test and publish the images
    jobs:
      - job: kiln_ci
        displayName: kiln ci
        timeoutInMinutes: 180
        steps:
          # The whole history and its tags: kiln ci counts the commits since each image's
          # version last changed, and refuses a shallow clone rather than guess.
          - checkout: self
            fetchDepth: 0
            fetchTags: true
            clean: true

          @CHECK_VERSION@

          # The signing key, as a file that lives for this job only.
          - task: DownloadSecureFile@1
            name: signing_key
            displayName: Signing key
            condition: ne(variables['Build.Reason'], 'PullRequest')
            inputs:
              secureFile: kiln-release.key

          # Builds what changed, tests it, publishes and moves channels as the policy says.
          # It sets KILN_PUBLISHED and KILN_<IMAGE>_VERSION / _RESULT for later steps, and
          # writes .kiln-ci/ci-summary.json. Secret variables reach a script only when mapped.
          - script: kiln ci
            displayName: kiln ci
            env:
              AWS_ACCESS_KEY_ID: $(AWS_ACCESS_KEY_ID)
              AWS_SECRET_ACCESS_KEY: $(AWS_SECRET_ACCESS_KEY)
              KILN_SIGNING_KEY: $(signing_key.secureFilePath)

          # The image tests of every image built, in the run's Tests tab.
          - task: PublishTestResults@2
            displayName: Image test results
            condition: succeededOrFailed()
            inputs:
              testResultsFormat: JUnit
              testResultsFiles: '*/tests/junit.xml'
              searchFolder: $(Build.SourcesDirectory)/.kiln-ci
              testRunTitle: Image tests
              failTaskOnMissingResultsFile: false

          # The reports and SBOMs of the images built, and the summary, as one artifact.
          - task: CopyFiles@2
            displayName: Gather the reports
            condition: succeededOrFailed()
            inputs:
              SourceFolder: $(Build.SourcesDirectory)/.kiln-ci
              Contents: |
                ci-summary.json
                */report.html
                */sbom.cdx.json
                */manifest.json
              TargetFolder: $(Build.ArtifactStagingDirectory)/kiln-reports

          - task: PublishPipelineArtifact@1
            displayName: Publish the reports
            condition: succeededOrFailed()
            inputs:
              targetPath: $(Build.ArtifactStagingDirectory)/kiln-reports
              artifact: kiln-reports-$(System.JobAttempt)
)yaml";

const char* const kAzureDeploy =
    R"yaml(# Deploys the image version a channel points at. Separate from the build pipeline: building
# an image and putting it in front of the agents are separate decisions, with their own
# approvals. Run it by hand (Run pipeline: pick the image and the channel) or on its schedule.
#
# Written by `kiln pipeline init --azure` (kiln @KILN_VERSION@). It is yours to edit.
#
# kiln @KILN_VERSION@ has no `kiln deploy` yet. Until it has, this pipeline fetches the channel's
# version and checks it (`kiln verify`: signature, provenance, digests; `kiln pull`), and
# warns that nothing was rolled out; replace the last step with `kiln deploy` when it exists.
#
# Set up once, in the Azure DevOps project:
#   - Environments (Pipelines > Environments) @ENVIRONMENTS@. Add an Approvals check to
#     @APPROVED@: a run waits there until an approver lets it go.
#   - The agent pool "@AGENTS@" and the variable group "kiln-store" of build-images.yml.

trigger: none
pr: none

# Every Monday at 04:00 UTC, the default channel's version is deployed again (through its
# environment's approvals), so that agents never run an image older than a week.
schedules:
  - cron: '0 4 * * 1'
    displayName: Weekly redeploy
    branches:
      include: [main]
    always: true

parameters:
  - name: image
    displayName: Image
    type: string
    default: @DEFAULT_IMAGE@
    values: [@IMAGES@]
  - name: channel
    displayName: Channel
    type: string
    default: @DEFAULT_CHANNEL@
    values: [@CHANNELS@]

variables:
  - group: kiln-store
  - name: KILN_VERSION
    value: '@KILN_VERSION@'

pool:
  name: @AGENTS@

stages:
  - stage: deploy
    displayName: Deploy ${{ parameters.image }}@${{ parameters.channel }}
    jobs:
      - deployment: deploy
        displayName: ${{ parameters.image }}@${{ parameters.channel }}
        # The channel's environment: its approvals and checks run before any step.
        environment: kiln-${{ parameters.channel }}
        timeoutInMinutes: 60
        strategy:
          runOnce:
            deploy:
              steps:
                # kiln.yaml: the store, the public key that checks signatures, the channels.
                - checkout: self
                  clean: true

                @CHECK_VERSION@

                - script: kiln verify '${{ parameters.image }}@${{ parameters.channel }}'
                  displayName: Verify the signature and provenance
                  env:
                    AWS_ACCESS_KEY_ID: $(AWS_ACCESS_KEY_ID)
                    AWS_SECRET_ACCESS_KEY: $(AWS_SECRET_ACCESS_KEY)

                - script: kiln pull '${{ parameters.image }}@${{ parameters.channel }}' --to '$(Pipeline.Workspace)/image'
                  displayName: Fetch the image
                  env:
                    AWS_ACCESS_KEY_ID: $(AWS_ACCESS_KEY_ID)
                    AWS_SECRET_ACCESS_KEY: $(AWS_SECRET_ACCESS_KEY)

                - script: echo "##vso[task.logissue type=warning]kiln @KILN_VERSION@ has no kiln deploy yet; the image was fetched and verified, not rolled out"
                  displayName: Deploy (not yet in kiln @KILN_VERSION@)
)yaml";

const char* const kGithubBuild =
    R"yaml(@ABOUT_BUILD@
#
# Written by `kiln pipeline init --github` (kiln @KILN_VERSION@). It is yours to edit;
# `kiln pipeline init --github --force` writes it again.
#
# Set up once, in the repository's settings:
#   - Self-hosted runners labelled "@AGENTS@": Debian 12 with kiln @KILN_VERSION@ installed. A bake
#     needs root (namespaces, mounts, chroot): run the runner as root.
#   - Variables KILN_STORE_ROLE (the IAM role the job assumes through OIDC, allowed to write the
#     store) and KILN_STORE_REGION. No cloud keys are stored: the job asks for short-lived ones.
#   - Secret KILN_SIGNING_KEY: the private key that signs what is published (`kiln key generate`);
#     kiln.yaml's signing.public_key checks it.
name: build-images

on:
  push:
    branches: ['**']
    tags: ['**']
  pull_request:
  workflow_dispatch:

permissions:
  contents: read
  id-token: write # OIDC: the job's identity token, exchanged for the store's credentials

# One run per ref at a time: two pushes of main never publish side by side.
concurrency:
  group: build-images-${{ github.ref }}
  cancel-in-progress: false

env:
  # The kiln this workflow was written for; the first step fails on any other.
  KILN_VERSION: '@KILN_VERSION@'

jobs:
  images:
    name: kiln ci
    runs-on: [self-hosted, linux, @AGENTS@]
    timeout-minutes: 180
    steps:
      # The whole history and its tags: kiln ci counts the commits since each image's version
      # last changed, and refuses a shallow clone rather than guess.
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
          fetch-tags: true

      @CHECK_VERSION@

      # Pull requests build and test only, without credentials.
      - name: Store credentials (OIDC)
        if: github.event_name != 'pull_request'
        uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: ${{ vars.KILN_STORE_ROLE }}
          aws-region: ${{ vars.KILN_STORE_REGION }}

      - name: Signing key
        if: github.event_name != 'pull_request'
        env:
          SIGNING_KEY: ${{ secrets.KILN_SIGNING_KEY }}
        run: |
          umask 077
          printf '%s\n' "$SIGNING_KEY" > "$RUNNER_TEMP/kiln-release.key"
          echo "KILN_SIGNING_KEY=$RUNNER_TEMP/kiln-release.key" >> "$GITHUB_ENV"

      # Builds what changed, tests it, publishes and moves channels as the policy says. Its
      # outputs: published, and <image>_version / <image>_result; the job summary gets its table.
      - name: kiln ci
        id: ci
        run: kiln ci

      - name: Reports, SBOMs and test results
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: kiln-reports-${{ github.run_attempt }}
          path: |
            .kiln-ci/ci-summary.json
            .kiln-ci/*/report.html
            .kiln-ci/*/sbom.cdx.json
            .kiln-ci/*/manifest.json
            .kiln-ci/*/tests/junit.xml
          if-no-files-found: ignore

      - name: Remove the signing key
        if: always()
        run: rm -f "$RUNNER_TEMP/kiln-release.key"
)yaml";

const char* const kGithubDeploy =
    R"yaml(# Deploys the image version a channel points at. Separate from the build workflow: building an
# image and putting it in front of the agents are separate decisions, with their own approvals.
# Run it by hand (Actions > deploy-images > Run workflow: pick the image and the channel) or on
# its schedule.
#
# Written by `kiln pipeline init --github` (kiln @KILN_VERSION@). It is yours to edit.
#
# kiln @KILN_VERSION@ has no `kiln deploy` yet. Until it has, this workflow fetches the channel's
# version and checks it (`kiln verify`: signature, provenance, digests; `kiln pull`), and
# warns that nothing was rolled out; replace the last step with `kiln deploy` when it exists.
#
# Set up once, in the repository's settings:
#   - Environments @ENVIRONMENTS@. Give @APPROVED@ required reviewers: a run waits there
#     until one of them approves it.
#   - The runners, variables and OIDC role of build-images.yml (the role may only read here).
name: deploy-images

on:
  workflow_dispatch:
    inputs:
      image:
        description: The image to deploy
        type: choice
        options: [@IMAGES@]
        default: @DEFAULT_IMAGE@
      channel:
        description: The channel whose version is deployed
        type: choice
        options: [@CHANNELS@]
        default: @DEFAULT_CHANNEL@
  # Every Monday at 04:00 UTC, the default channel's version is deployed again (through its
  # environment's reviewers), so that agents never run an image older than a week.
  schedule:
    - cron: '0 4 * * 1'

permissions:
  contents: read
  id-token: write # OIDC: the job's identity token, exchanged for the store's credentials

env:
  KILN_VERSION: '@KILN_VERSION@'
  # A scheduled run has no inputs: the defaults apply.
  IMAGE: ${{ inputs.image || '@DEFAULT_IMAGE@' }}
  CHANNEL: ${{ inputs.channel || '@DEFAULT_CHANNEL@' }}

jobs:
  deploy:
    name: Deploy ${{ inputs.image || '@DEFAULT_IMAGE@' }}@${{ inputs.channel || '@DEFAULT_CHANNEL@' }}
    runs-on: [self-hosted, linux, @AGENTS@]
    # The channel's environment: its required reviewers approve before any step runs.
    environment: kiln-${{ inputs.channel || '@DEFAULT_CHANNEL@' }}
    timeout-minutes: 60
    steps:
      # kiln.yaml: the store, the public key that checks signatures, the channels.
      - uses: actions/checkout@v4

      @CHECK_VERSION@

      - name: Store credentials (OIDC)
        uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: ${{ vars.KILN_STORE_ROLE }}
          aws-region: ${{ vars.KILN_STORE_REGION }}

      - name: Verify the signature and provenance
        run: kiln verify "$IMAGE@$CHANNEL"

      - name: Fetch the image
        run: kiln pull "$IMAGE@$CHANNEL" --to "$RUNNER_TEMP/image"

      - name: Deploy (not yet in kiln @KILN_VERSION@)
        run: echo "::warning::kiln @KILN_VERSION@ has no kiln deploy yet; $IMAGE@$CHANNEL was fetched and verified, not rolled out"
)yaml";

} // namespace kiln::ci::templates
