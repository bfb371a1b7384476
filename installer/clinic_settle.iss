; Inno Setup script for ClinicSettle (乡镇医保结算台) — Windows setup from the one-folder bundle.
; Build the bundle first on Windows:   python installer\build.py
; Then compile this script:            "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" installer\clinic_settle.iss
; Output: installer\Output\ClinicSettle-Setup-<version>.exe

#define AppName "乡镇医保结算台"
#define AppNameEn "ClinicSettle"
#define AppVersion "0.1.0"
#define AppExe "clinic-settle.exe"

[Setup]
AppId={{6D2F4B1E-6C0B-4E0B-9A51-7C3E6C1D2A10}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=ClinicSettle
DefaultDirName={autopf}\{#AppNameEn}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
OutputBaseFilename=ClinicSettle-Setup-{#AppVersion}
Compression=lzma2/max
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
WizardStyle=modern
UninstallDisplayIcon={app}\{#AppExe}
; the program folder holds only the program; the clinic's data lives in ProgramData (below)

[Languages]
Name: "chinesesimplified"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Tasks]
Name: "desktopicon"; Description: "在桌面创建快捷方式"; GroupDescription: "快捷方式："

[Dirs]
; the clinic's data: database, receipts, reports, backups — shared by the Windows accounts of the clinic PC
Name: "{commonappdata}\{#AppNameEn}"; Permissions: users-modify

[Files]
; the whole PyInstaller one-folder bundle (program, Qt runtime and plugins, shipped policy packs, migrations)
Source: "..\dist\clinic-settle\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; Parameters: "gui --db ""{commonappdata}\{#AppNameEn}\clinic-settle.sqlite3"""; WorkingDir: "{commonappdata}\{#AppNameEn}"
Name: "{group}\{#AppName} 自检"; Filename: "{app}\{#AppExe}"; Parameters: "--self-test"
Name: "{group}\卸载 {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Parameters: "gui --db ""{commonappdata}\{#AppNameEn}\clinic-settle.sqlite3"""; WorkingDir: "{commonappdata}\{#AppNameEn}"; Tasks: desktopicon

[Run]
; an upgrade keeps the data: the database is migrated in place (Alembic) when the program opens it
Filename: "{app}\{#AppExe}"; Parameters: "init --db ""{commonappdata}\{#AppNameEn}\clinic-settle.sqlite3"""; Flags: runhidden; StatusMsg: "正在升级数据库结构…"
Filename: "{app}\{#AppExe}"; Parameters: "gui --db ""{commonappdata}\{#AppNameEn}\clinic-settle.sqlite3"""; Description: "启动{#AppName}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; program files only; the data folder is removed only when the user asks (see [Code])
Type: filesandordirs; Name: "{app}"

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir: String;
begin
  if CurUninstallStep = usPostUninstall then
  begin
    DataDir := ExpandConstant('{commonappdata}\{#AppNameEn}');
    if DirExists(DataDir) then
      if MsgBox('是否同时删除本机的结算数据（数据库、结算单、报表、备份）？' + #13#10 +
                '删除后无法恢复。一般请选择“否”。' + #13#10 + DataDir,
                mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
        DelTree(DataDir, True, True, True);
  end;
end;
